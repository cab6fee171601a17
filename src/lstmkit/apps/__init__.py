"""The jobs behind the CLI, one package per command:

    forecast/    lstmkit forecast     forecast a series H steps ahead, backtested vs baselines
    classify/    lstmkit classify     classify sequences (time series or texts): train, predict
    textgen/     lstmkit textgen      character-level language model: train, sample
    explain/     lstmkit explain      one LSTM time step walked through its four gates
    longmemory/  lstmkit longmemory   adding / copy / temporal order: LSTM vs GRU vs SimpleRNN
    sweep/       lstmkit sweep        a grid of independent trainings into one table
    export/      lstmkit export       a saved model to ONNX
    inspect/     lstmkit inspect      a model file's layers, shapes and origin

Each package has ``job.py`` (the work, importable without argparse) and ``cli.py``
(``HELP``, ``DESCRIPTION``, ``add_arguments(parser)``, ``run(args) -> exit code``; see
:mod:`lstmkit.cli`), plus helpers of its own. What several jobs share is in
:mod:`.shared`. A job uses another job or the library through public names only.
"""
