; class: loop-parallel
; Vector operations: a[i] = 3i+1 and b[i] = i xor 5A5Ah are filled, then PASSES
; passes of c[i] += a[i] + 2*b[i] - a[i]/2 over 4096 16-bit elements; prints
; the 16-bit sum of c. Every iteration touches only its own elements.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
N       EQU     4096
PASSES  EQU     40
VA      EQU     4000H
VB      EQU     6000H
VC      EQU     8000H

work:   LD      IX,VA
        LD      IY,VB
        LD      BC,0
fill:   LD      H,B
        LD      L,C
        ADD     HL,HL
        ADD     HL,BC
        INC     HL
        LD      (IX+0),L
        LD      (IX+1),H
        LD      A,C
        XOR     5AH
        LD      (IY+0),A
        LD      A,B
        XOR     5AH
        LD      (IY+1),A
        INC     IX
        INC     IX
        INC     IY
        INC     IY
        INC     BC
        LD      A,B
        CP      N/256
        JR      NZ,fill

        LD      A,PASSES
pass:   LD      (count),A
        LD      IX,VA
        LD      IY,VB
        LD      HL,VC
        LD      BC,N
vloop:  LD      E,(IY+0)
        LD      D,(IY+1)
        EX      DE,HL
        ADD     HL,HL
        PUSH    BC
        LD      C,(IX+0)
        LD      B,(IX+1)
        ADD     HL,BC
        SRL     B
        RR      C
        XOR     A
        SBC     HL,BC
        POP     BC
        EX      DE,HL
        LD      A,(HL)
        ADD     A,E
        LD      (HL),A
        INC     HL
        LD      A,(HL)
        ADC     A,D
        LD      (HL),A
        INC     HL
        INC     IX
        INC     IX
        INC     IY
        INC     IY
        DEC     BC
        LD      A,B
        OR      C
        JR      NZ,vloop
        LD      A,(count)
        DEC     A
        JR      NZ,pass

        LD      DE,VC
        LD      BC,N
        CALL    sumw
        RET

name:   DB      'vecops $'
count:  DB      0
