"""Privacy: PII redaction and its independent residue check, pseudonymisation, consent, retention and erasure."""
