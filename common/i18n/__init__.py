"""Languages and time zones of the module's readers: locales, zones, and (later) the catalogues."""
