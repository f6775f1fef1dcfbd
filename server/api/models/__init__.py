"""The JSON API's request and response models, one module per domain (separate models for
requests and responses: nothing a client sends is echoed as-is; responses never carry a full
phone number, only ``phone_masked``, apart from the one audited reveal route)."""
