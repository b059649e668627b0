-- Assertions for this SP of the built-in IdP are encrypted: JSON
-- {"certificate": base64 DER, "method": content-encryption URI}, from its
-- metadata's KeyDescriptor use="encryption" or given by the operator.
ALTER TABLE service_providers ADD COLUMN encryption TEXT;
