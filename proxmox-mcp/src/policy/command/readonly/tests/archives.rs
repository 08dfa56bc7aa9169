//! Archives and compressors: listings and standard output only, one read mode.

use super::check;

#[test]
fn compressors_write_only_to_standard_output() {
    check(&[
        ("zcat /var/log/syslog.2.gz", true),
        ("gzip -l f.gz", true),
        ("gzip -t f.gz", true),
        ("gzip -c f", true),
        ("gzip -dc f.gz", true),
        ("gzip -d -c f.gz", true),
        ("gzip", true),
        ("gunzip -c f.gz", true),
        ("gzip f", false),
        ("gzip -d f.gz", false),
        ("gunzip f.gz", false),
        ("gzip -r -c d", false),
        ("bzcat f.bz2", true),
        ("bzip2 -dc f.bz2", true),
        ("bzip2 -t f.bz2", true),
        ("bzip2 f", false),
        ("bunzip2 f.bz2", false),
        ("xzcat f.xz", true),
        ("xz -l f.xz", true),
        ("xz -dc f.xz", true),
        ("unxz -c f.xz", true),
        ("xz f", false),
        ("unxz f.xz", false),
        ("xz --files=list", false),
        ("zstdcat f.zst", true),
        ("zstd -l f.zst", true),
        ("zstd -t f.zst", true),
        ("zstd -dc f.zst", true),
        ("zstd -19 -c f", true),
        ("unzstd f.zst", false),
        ("zstd f", false),
        ("zstd -d f.zst -o out", false),
        ("zstd --rm -c f", false),
        ("zstd --train f -o dict", false),
        ("zstd --output-dir-flat=/tmp -c f", false),
    ]);
}

#[test]
fn compressors_take_one_read_mode() {
    check(&[
        ("xz -t f.xz", true),
        ("unxz -t f.xz", true),
        ("xz -k -dc f.xz", true),
        ("xz -d --stdout f.xz", true),
        ("bzip2 -d -c f.bz2", true),
        ("bunzip2 -c f.bz2", true),
        ("zstd -d --stdout f.zst", true),
        ("zstd -q -l f.zst", true),
        ("gzip -d", true),
        ("xz -d", true),
        // The last mode flag wins: these compress or decompress files.
        ("xz -t -z f", false),
        ("xz -l -z f", false),
        ("xz -t -d f.xz", false),
        ("xz -c -z f", false),
        ("xz --test --compress f", false),
        ("bzip2 -t -z f", false),
        ("bzip2 -tz f", false),
        ("bzip2 -l f", false),
        ("bunzip2 -t -d f.bz2", false),
        ("zstd -t -d -f f.zst", false),
        ("zstd -l -z f", false),
        ("zstd -l -d f.zst", false),
        ("zstd -dc -f f.zst", false),
        ("zstd --force -c f", false),
        ("gzip -t -d f.gz", false),
        ("gzip -cf f", false),
        ("gzip -l -t f.gz", false),
        ("gzip -d -z f.gz", false),
    ]);
}

#[test]
fn archives() {
    check(&[
        ("tar -tzf /var/lib/vz/dump/vzdump-lxc-101.tar.gz", true),
        ("tar tvf x.tar", true),
        ("tar tzvf x.tgz", true),
        ("tar -tvzf x.tgz", true),
        ("tar --list --file=x.tar", true),
        ("tar -t -f x.tar --zstd", true),
        ("tar -tf host:x.tar --force-local", true),
        ("tar -xf x.tar", false),
        ("tar xzf x.tgz", false),
        ("tar -czf x.tgz /etc", false),
        ("tar cf x.tar /etc", false),
        ("tar -tf x.tar --to-command=sh", false),
        ("tar -tf x.tar -I sh", false),
        ("tar -tf x.tar --use-compress-program=sh", false),
        ("tar -tf x.tar --checkpoint-action=exec=sh", false),
        ("tar -tf x.tar -F sh", false),
        ("tar -tf x.tar --info-script=sh", false),
        ("tar -tf x.tar --new-volume-script=sh", false),
        ("tar -tf x.tar --rmt-command=sh", false),
        ("tar -tf x.tar --rsh-command=sh", false),
        ("tar -tf host:x.tar", false),
        ("tar tf host:x.tar", false),
        ("tar -tf x.tar --index-file=/tmp/i", false),
        ("tar -tf x.tar -g /tmp/snap", false),
        ("tar", false),
        ("unzip -l x.zip", true),
        ("unzip -t x.zip", true),
        ("unzip -Z x.zip", true),
        ("unzip -Z -1 x.zip", true),
        ("unzip x.zip", false),
        ("unzip -o x.zip", false),
        ("unzip -d /tmp x.zip", false),
        ("unzip -p x.zip f", false),
        ("zipinfo x.zip", true),
        ("zipinfo -1 x.zip", true),
    ]);
}

#[test]
fn tar_and_unzip_option_ends() {
    check(&[
        (
            "tar -tf x.tar --occurrence --use-compress-program=sh",
            false,
        ),
        ("tar -tf x.tar --occurrence --to-command=sh", false),
        ("tar -tf x.tar --occurrence=2 a", true),
        ("tar -tf x.tar --occurrence a", true),
        ("tar -tvf x.tar --totals", true),
        ("unzip -l -- -l x.zip", false),
        ("unzip -l -- x.zip", false),
        ("zipinfo -- x.zip", false),
    ]);
}
