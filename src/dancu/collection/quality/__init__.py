"""The quality scorecard of the registry: "đúng, đủ, sạch, sống" per record, per unit and over time.

`checks` defines the four indicators and judges one record; `services` assesses records and keeps the
stored assessments and daily snapshots current; `selectors` reads them within the reader's jurisdiction;
`views` and `api` show them. docs/quality.md describes it for officers and operators.
"""
