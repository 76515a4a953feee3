//! `make m1n1`'s payload layout: the bootargs line, the device trees, then the gzipped
//! Image, which must decompress to exactly the Image that boots in QEMU.

use std::process::Command;

#[test]
fn payload_is_bootargs_then_dtbs_then_gzipped_image() {
    let image = zbeam_qemu_tests::image();
    let Some(dtb) = zbeam_testdata::require("dtb/t8103-j274.dtb") else { return };
    let dir = std::env::temp_dir().join(format!("zbeam-m1n1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let img_copy = dir.join("zbeam.img");
    std::fs::copy(&image, &img_copy).unwrap();
    let out = dir.join("payload.bin");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/m1n1-payload.sh");
    let st = Command::new(script).arg(&img_copy).arg(&out).arg("tick=250 test=boot").arg(&dtb).status().unwrap();
    assert!(st.success());
    let payload = std::fs::read(&out).unwrap();
    let dtb_bytes = std::fs::read(&dtb).unwrap();
    let line = b"chosen.bootargs=tick=250 test=boot\n";
    assert!(payload.starts_with(line), "payload starts with the bootargs line");
    let rest = &payload[line.len()..];
    assert!(rest.starts_with(&dtb_bytes), "then the device tree, whole");
    let gz = &rest[dtb_bytes.len()..];
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "then a gzip stream");
    let gz_path = dir.join("kernel.gz");
    std::fs::write(&gz_path, gz).unwrap();
    let unpacked = Command::new("gzip").arg("-dc").arg(&gz_path).output().unwrap();
    assert!(unpacked.status.success());
    let original = std::fs::read(&image).unwrap();
    assert_eq!(unpacked.stdout, original, "the gzipped kernel is the Image");
    assert_eq!(&original[0x38..0x3c], b"ARM\x64", "an arm64 Image header");
    // A non-DTB in the tree list is refused.
    let bad = Command::new(script).arg(&img_copy).arg(dir.join("x.bin")).arg("").arg(&img_copy).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a DTB"));
}
