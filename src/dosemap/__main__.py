from dosemap.cli import main

main()
