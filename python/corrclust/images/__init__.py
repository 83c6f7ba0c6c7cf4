"""From microscopy images to organoids: IO, detection and cropping, key points, histograms,
a synthetic organoid generator and real single-cell crops (RBC).

Submodules: ``io``, ``detection``, ``keypoints``, ``histograms``, ``synthetic``, ``rbc``.
"""
