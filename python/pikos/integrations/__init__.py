"""pikos where Python developers already work: the pytest plugin
(``pytest --pikos``, the ``pikos_limit`` marker) and the IPython magics
(``%load_ext pikos``).  Nothing here is imported unless asked for."""
