"""Reports for managers (R-1, R-5, R-21): each module's figures over a period, for one organization."""
