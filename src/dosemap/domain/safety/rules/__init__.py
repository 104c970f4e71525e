"""The safety rules. Each is ``rule(inputs) -> Iterable[Finding]``; none raises for a warning."""
