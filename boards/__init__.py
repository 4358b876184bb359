"""Board definitions, one module per board (installed as ``hwgen.boards``)."""
