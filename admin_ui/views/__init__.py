"""One module per page family; each exposes `routes`, a web.RouteTableDef."""
