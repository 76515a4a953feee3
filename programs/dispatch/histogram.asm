; class: partly-parallel
; Histogram with conflicting updates: 16 KiB of pseudo-random bytes, PASSES
; passes counting each byte's low six bits into 64 16-bit bins; any two
; stretches of the data update the same bins. Prints the sum of bins weighted
; by bin number.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
DATA    EQU     4000H
BINS    EQU     8000H
PASSES  EQU     4

work:   LD      HL,DATA
fill:   LD      A,L
        ADD     A,A
        ADD     A,A
        ADD     A,L
        XOR     H
        RRCA
        ADD     A,H
        LD      (HL),A
        INC     HL
        LD      A,H
        CP      80H
        JR      NZ,fill

        LD      A,PASSES
pass:   LD      (count),A
        LD      DE,DATA
hl1:    LD      A,(DE)
        AND     3FH
        ADD     A,A
        LD      L,A
        LD      H,BINS/256
        INC     (HL)
        JR      NZ,h2
        INC     HL
        INC     (HL)
h2:     INC     DE
        LD      A,D
        CP      80H
        JR      NZ,hl1
        LD      A,(count)
        DEC     A
        JR      NZ,pass

        LD      HL,0
        LD      DE,BINS
        LD      B,64
wsum:   PUSH    BC
        LD      A,(DE)
        LD      C,A
        INC     DE
        LD      A,(DE)
        INC     DE
        PUSH    DE
        LD      D,A
        LD      E,C
wmul:   ADD     HL,DE
        DJNZ    wmul
        POP     DE
        POP     BC
        DJNZ    wsum
        RET

name:   DB      'histogram $'
count:  DB      0
