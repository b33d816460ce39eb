"""One package per vendor: models (each rule with its doc line), operations, client, normalisation."""
