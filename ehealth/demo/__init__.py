"""Demo data: a deterministic, realistic national data set (`python -m ehealth.demo --patients N --seed S`)."""

from ehealth.demo.generate import DemoDataError, DemoReport, generate

__all__ = ["DemoDataError", "DemoReport", "generate"]
