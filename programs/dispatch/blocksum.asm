; class: loop-parallel
; Checksums of independent blocks: 64 blocks of 256 bytes, a Fletcher-style
; checksum of each (the running sums seeded with the pass number), PASSES passes,
; each block's checksum xored into its slot; prints the 16-bit sum of the slots.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
DATA    EQU     4000H
TABLE   EQU     8000H
PASSES  EQU     12

work:   LD      HL,DATA
fill:   LD      A,H
        ADD     A,A
        ADD     A,H
        XOR     L
        ADD     A,13
        LD      (HL),A
        INC     HL
        LD      A,H
        CP      80H
        JR      NZ,fill

        LD      A,PASSES
pass:   LD      (seed),A
        LD      HL,DATA
        LD      IX,TABLE
        LD      B,64
blk:    PUSH    BC
        LD      A,(seed)
        LD      D,A
        LD      E,A
        LD      B,0
sum:    LD      A,(HL)
        ADD     A,D
        LD      D,A
        ADD     A,E
        LD      E,A
        INC     HL
        DJNZ    sum
        LD      A,(IX+0)
        XOR     D
        LD      (IX+0),A
        LD      A,(IX+1)
        XOR     E
        LD      (IX+1),A
        INC     IX
        INC     IX
        POP     BC
        DJNZ    blk
        LD      A,(seed)
        DEC     A
        JR      NZ,pass

        LD      DE,TABLE
        LD      BC,64
        CALL    sumw
        RET

name:   DB      'blocksum $'
seed:   DB      0
