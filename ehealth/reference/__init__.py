"""Reference data: regions, organizations and their structure, the drug catalogue."""
