"""Privacy: redaction, residue check, pseudonymisation, consent, retention, erasure; the redacted and eligible steps."""
