"""``python -m hybridize.tracer.runscript (SCRIPT | -m MODULE) [ARGS...]``: run a program through
:mod:`hybridize.tracer.runmain` (a module of its own: the boot hooks have imported ``runmain`` already)."""

if __name__ == "__main__":
    from hybridize.tracer.runmain import _main

    _main()
