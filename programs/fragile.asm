; fragile: a worker that crashes on purpose, for the default workload's restarter.
; Argument word: how long it lives, in ms (ARGS+1). It sleeps that long, then
; executes HALT with interrupts disabled, which zbeam turns into a fault exit.
        include "zbeam.inc"
        org     100h
        ld      a,F_SLEEP
        ld      hl,(ARGS+1)
        rst     SYS
        di
        halt
