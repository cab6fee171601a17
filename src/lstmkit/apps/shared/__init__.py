"""What several jobs share: the output directory rule (:mod:`.outdir`), a job's model
files (:mod:`.modelfiles`), tables (:mod:`.tables`), progress (:mod:`.progress`) and
figures (:mod:`.figures`). Import from those modules; this file only names them."""
