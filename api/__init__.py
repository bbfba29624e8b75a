"""The data-exchange API of the portal (issue 8): FHIR R5 resources on the national profiles."""
