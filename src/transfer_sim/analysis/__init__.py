"""What the results mean.

KPIs against the targets, behaviour checks, attribution, sensitivity and
calibration.
"""
