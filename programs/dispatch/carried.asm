; class: partly-parallel
; A loop with a carried dependence on some iterations only: a[i] for i < 8192;
; when i mod 64 = 37, a[i] = a[i-1] + 1 (reads the previous iteration's result),
; otherwise a[i] is eight rounds of x = 5x + 3779h from x = i. Prints the sum of a.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
VA      EQU     4000H
N       EQU     8192

work:   LD      HL,VA
        LD      BC,0
loop:   LD      A,C
        AND     63
        CP      37
        JR      NZ,indep
        DEC     HL
        LD      D,(HL)
        DEC     HL
        LD      E,(HL)
        INC     HL
        INC     HL
        INC     DE
        JR      store
indep:  PUSH    HL
        LD      H,B
        LD      L,C
        LD      A,8
rnd:    LD      D,H
        LD      E,L
        ADD     HL,HL
        ADD     HL,HL
        ADD     HL,DE
        LD      DE,3779H
        ADD     HL,DE
        DEC     A
        JR      NZ,rnd
        EX      DE,HL
        POP     HL
store:  LD      (HL),E
        INC     HL
        LD      (HL),D
        INC     HL
        INC     BC
        LD      A,B
        CP      N/256
        JR      NZ,loop

        LD      DE,VA
        LD      BC,N
        CALL    sumw
        RET

name:   DB      'carried $'
