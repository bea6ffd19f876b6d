"""Transport security of a mail domain: STARTTLS, MTA-STS, TLS-RPT, DNSSEC and DANE.

Pure parsers (``mtasts_record``, ``tlsrpt_record``, ``tlsa``) are apart from the
modules that do I/O (``starttls`` probes SMTP servers, ``mtasts_fetch`` fetches
policies over HTTPS behind an SSRF guard, ``dnssec`` validates answers).
"""
