; probe: makes system calls for a test driver (kernel/crates/images/src/abi_suite.rs).
; A command arrives with tag CMD_TAG (other messages stay queued for the calls):
;   +0 op: 0 = a system call, 1 = DI and HALT, 2 = RET from the top level
;   +1 A, +2 BC, +4 DE, +6 HL, +8 IX, +10 IY: the registers of the call
;   +12 n, then n bytes copied to SCRATCH first
; After a call it replies to the command's sender (plain SEND, 25 bytes):
;   A, BC, DE, HL, IY as the call left them, then the first 16 bytes of SCRATCH.
; The driver's pid is kept whole (DE and IY, see zbeam.inc) for the reply.
        include "zbeam.inc"
CMD_TAG equ     50h
SCRATCH equ     8000h
        org     100h
loop:   ld      a,F_RECV_TAG
        ld      de,cmd
        ld      bc,64
        ld      hl,INFINITY
        ld      ix,CMD_TAG
        rst     SYS
        or      a
        jr      nz,loop
        ld      (driver),de
        ld      (driver+2),iy
        ld      a,(cmd+12)
        or      a
        jr      z,nocopy
        ld      c,a
        ld      b,0
        ld      hl,cmd+13
        ld      de,SCRATCH
        ldir
nocopy: ld      a,(cmd)
        cp      1
        jr      z,dohalt
        cp      2
        ret     z
        ld      ix,(cmd+8)
        ld      iy,(cmd+10)
        ld      hl,(cmd+6)
        ld      de,(cmd+4)
        ld      bc,(cmd+2)
        ld      a,(cmd+1)
        rst     SYS
        ld      (result),a
        ld      (result+1),bc
        ld      (result+3),de
        ld      (result+5),hl
        ld      (result+7),iy
        ld      hl,SCRATCH
        ld      de,result+9
        ld      bc,16
        ldir
        ld      a,F_SEND
        ld      de,(driver)
        ld      iy,(driver+2)
        ld      hl,result
        ld      bc,25
        rst     SYS
        jp      loop
dohalt: di
        halt
driver: dw      0,0
result:    ds      25
cmd:    ds      64
