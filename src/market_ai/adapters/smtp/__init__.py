"""SMTP adapters: SMTP_URL parsing, MIME building and the aiosmtplib mailer."""
