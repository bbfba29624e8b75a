"""The portal's records as FHIR R5 resources of the Uzbekistan Digital Health Platform profiles.

The profiles, identifier systems and code systems follow the implementation guide by Uzinfocom,
`uzinfocom-org/digital-health-ig` (CC BY 4.0); the models are those of `fhir.resources` (FHIR R5), and building
one validates it.
"""
