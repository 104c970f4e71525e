"""Pictures of plans: a backend-neutral scene, written as SVG or PNG.

``scene.build_plan_scene`` builds the picture from a plan and 2D landmarks (the template's
frontal projection, or a photo's); ``svg.to_svg`` and ``raster.to_png`` draw it.
"""
