//! CP/M 2.2 programs as Z80 processes in QEMU (the in-kernel driver is
//! kernel/src/ktest/cpm.rs): unmodified CP/M programs from programs/cpm/ copy a file
//! the kernel put on the in-memory disk, list the directory and do random-access I/O,
//! each printing exactly what it did (the runner sees the console with CR LF as LF);
//! the driver then checks the files on the disk.

use zbeam_qemu_tests::{run, Machine};

#[test]
fn cpm_programs_do_file_io_on_the_in_memory_disk() {
    let o = run(&Machine { append: "test=cpm".into(), ..Machine::default() });
    o.expect_code(0)
        .expect("test cpm: HELLO.TXT on the disk, 20000 bytes")
        // cpm-copy HELLO.TXT COPY.TXT: sequential reads and writes over two extents.
        .expect("copied 157 records\n")
        .expect("test cpm: cpm-copy exited: Some(Normal)")
        // cpm-dir: search first / next over the directory.
        .expect("HELLO.TXT\nCOPY.TXT\n2 file(s)\n")
        .expect("test cpm: cpm-dir exited: Some(Normal)")
        // cpm-random: random writes over four extents, size, checksum, unwritten
        // records (codes 1 and 4), random-to-sequential switch, set random record.
        .expect(
            "wrote 7 records\nsize 1001\nchecksum C0C0\nunwritten 01 04\n\
             sequential after random: 80 81\nnext record 130\nclosed\n",
        )
        .expect("test cpm: cpm-random exited: Some(Normal)")
        .expect("test cpm: COPY.TXT matches HELLO.TXT (157 records)")
        .expect("test cpm: RANDOM.DAT holds 1001 records")
        .expect("test cpm: files on the disk: HELLO.TXT COPY.TXT RANDOM.DAT")
        .expect("test cpm: PASS");
}
