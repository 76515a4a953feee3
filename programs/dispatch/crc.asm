; class: sequential
; CRC chain: CRC-16-CCITT (polynomial 1021h, initial FFFFh), bit by bit, over
; 16 KiB of generated data; each byte's step needs the previous CRC. Prints it.
        ORG     100H
        JP      main
        INCLUDE "lib.inc"
DATA    EQU     4000H

work:   LD      HL,DATA
fill:   LD      A,L
        XOR     H
        ADD     A,L
        LD      (HL),A
        INC     HL
        LD      A,H
        CP      80H
        JR      NZ,fill

        LD      HL,DATA
        LD      DE,0FFFFH
cbyte:  LD      A,(HL)
        XOR     D
        LD      D,A
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
        INC     HL
        LD      A,H
        CP      80H
        JR      NZ,cbyte
        EX      DE,HL
        RET

name:   DB      'crc $'
