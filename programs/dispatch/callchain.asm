; class: sequential
; A chain of calls: for 32 steps, a seed x = 5x + 3779h (carried) picks a 1 KiB
; block of 16 KiB of generated data, and a CRC-16-CCITT (bit by bit) of it is
; computed from the previous step's CRC, which the call returns in DE; the
; step stores it and passes it on. Each call needs the one before, so running
; the rest of a step beside its call always fails. Prints the sum of the CRCs.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
SRC     EQU     4000H
CRCS    EQU     8000H
STEPS   EQU     32

work:   LD      HL,SRC
fill:   LD      A,L
        XOR     H
        ADD     A,L
        LD      (HL),A
        INC     HL
        LD      A,H
        CP      80H
        JR      NZ,fill

        LD      HL,1234H
        LD      (seed),HL
        LD      HL,CRCS
        LD      (dst),HL
        LD      A,STEPS
        LD      (steps),A
        LD      DE,0FFFFH
step:   LD      HL,(seed)
        LD      A,H
        AND     3CH
        OR      40H
        LD      H,A
        LD      L,0
        LD      BC,1024
        CALL    crcblk          ; DE = CRC of the block, from DE
        LD      HL,(dst)
        LD      (HL),E
        INC     HL
        LD      (HL),D
        INC     HL
        LD      (dst),HL
        PUSH    DE
        LD      HL,(seed)       ; x = 5x + 3779h
        LD      D,H
        LD      E,L
        ADD     HL,HL
        ADD     HL,HL
        ADD     HL,DE
        LD      DE,3779H
        ADD     HL,DE
        LD      (seed),HL
        POP     DE
        LD      HL,steps
        DEC     (HL)
        JR      NZ,step

        LD      DE,CRCS
        LD      BC,STEPS
        CALL    sumw
        RET

; DE = CRC-16-CCITT of the BC bytes at HL, from DE. Clobbers A, BC, HL.
crcblk: LD      A,(HL)
        XOR     D
        LD      D,A
        PUSH    BC
        LD      B,8
cbit:   SLA     E
        RL      D
        JR      NC,nox
        LD      A,D
        XOR     10H
        LD      D,A
        LD      A,E
        XOR     21H
        LD      E,A
nox:    DJNZ    cbit
        POP     BC
        INC     HL
        DEC     BC
        LD      A,B
        OR      C
        JR      NZ,crcblk
        RET

seed:   DW      0
dst:    DW      0
steps:  DB      0
name:   DB      'callchain $'
