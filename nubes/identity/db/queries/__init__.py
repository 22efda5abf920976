"""Every SELECT/INSERT of identity lives in this package, one module per resource."""
