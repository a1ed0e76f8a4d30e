"""The ``analysis`` job kind: a track's file through ``sfa.dsp``, stored and copied onto the track."""
