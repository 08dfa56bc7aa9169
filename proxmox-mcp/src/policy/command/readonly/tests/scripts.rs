//! `sed` scripts, `awk` programs, `find` expressions, and key and certificate inspection.

use super::check;

#[test]
fn sed_scripts() {
    check(&[
        ("sed -n 1,5p /etc/hosts", true),
        ("sed -n 1,20p /etc/network/interfaces", true),
        ("sed s/we/are/g f", true),
        ("sed -e s/a/b/ -e /x/d f", true),
        ("sed -E s/(a|b)/c/2 f", true),
        ("sed 10q f", true),
        ("sed -n /^iface/,/^$/p f", true),
        ("sed -i s/a/b/ f", false),
        ("sed -i.bak s/a/b/ f", false),
        ("sed --in-place s/a/b/ f", false),
        ("sed -f script f", false),
        ("sed --file=script f", false),
        ("sed s/a/b/e f", false),
        ("sed s/a/b/w/tmp/x f", false),
        ("sed s/a/b/gw·/tmp/x f", false),
        ("sed 1e/bin/id f", false),
        ("sed e f", false),
        ("sed -n w/tmp/x f", false),
        ("sed W/tmp/x f", false),
        ("sed 1r/etc/shadow f", false),
        ("sed R/etc/shadow f", false),
        ("sed -e p -e W/x f", false),
        ("sed --expression=w/x f", false),
    ]);
}

#[test]
fn awk_programs() {
    check(&[
        ("awk {print·$1} /proc/loadavg", true),
        ("awk -F: {print·$1} /etc/passwd", true),
        ("awk -F: $3>=1000·{print·$1} /etc/passwd", true),
        ("awk /a|b/·{print} f", true),
        ("awk {print·$1/1024} f", true),
        ("awk {x++/2;·print·x} f", true),
        ("awk {print·(a·>·b)} f", true),
        ("awk {if·($3·>·100)·print·$1} f", true),
        ("awk {a[$1]+=$2}·END·{for·(k·in·a)·print·k,·a[k]} f", true),
        ("awk -v n=5 NR<=n f", true),
        ("awk length($0)>80 f", true),
        ("awk {s+=$1}END{print·s/NR} f", true),
        ("awk {getline·line·<·\"/etc/hostname\";·print·line} f", true),
        ("awk {print·$1||$2} f", true),
        ("gawk {print·$1} f", true),
        ("mawk {print·$1} f", true),
        ("gawk -e {print·$1} f", true),
        ("awk BEGIN{system(\"id\")}", false),
        ("awk {print·|·\"sh\"} f", false),
        ("awk {print·$0·|&·\"cat\"} f", false),
        ("awk {\"date\"·|·getline·d} f", false),
        ("awk {print·>·\"/tmp/x\"} f", false),
        ("awk {print·$1·>·\"/tmp/x\"} f", false),
        ("awk {printf(\"%s\",$1)·>·\"/tmp/x\"} f", false),
        ("awk {print·>>·\"/tmp/x\"} f", false),
        ("awk {print·$1,$2·>·$3} f", false),
        ("awk {print·$1,⏎$2·>·\"/tmp/x\"} f", false),
        ("awk {print·$1·&&⏎$2·>·\"/tmp/x\"} f", false),
        ("awk {print·$1⏎$2·>·1} f", true),
        ("gawk @load·\"filefuncs\";BEGIN{} f", false),
        ("gawk @include·\"x\" f", false),
        ("gawk BEGIN{f=\"system\";@f(\"id\")}", false),
        ("gawk BEGIN{print·|&·\"/inet/tcp/0/10.0.0.1/80\"}", false),
        ("gawk BEGIN{getline·<·\"/inet/tcp/0/h/80\"}", false),
        ("awk -f prog.awk f", false),
        ("gawk -i inc f", false),
        ("gawk -l ext f", false),
        ("gawk -E prog f", false),
        ("gawk --exec=prog f", false),
        ("gawk -o/tmp/x {print} f", false),
        ("gawk -e BEGIN{system(\"id\")}", false),
        ("mawk -W exec f", false),
        ("awk {print·\"unterminated} f", false),
    ]);
}

#[test]
fn find_expressions() {
    check(&[
        ("find /var/lib/vz -name *.qcow2 -size +10G", true),
        ("find /var/log -mtime -1 -type f", true),
        ("find /etc/pve -name *.conf", true),
        ("find / -xdev -newermt 2024-01-01 -print0", true),
        ("find -L /etc -maxdepth 2 ( -name a -o -name b ) -ls", true),
        ("find . -printf %p\\n", true),
        ("find", true),
        ("find / -name x -exec rm {} ;", false),
        ("find / -execdir rm {} +", false),
        ("find / -ok rm {} ;", false),
        ("find / -okdir rm {} ;", false),
        ("find / -delete", false),
        ("find / -name x -delete", false),
        ("find / -fprint /tmp/x", false),
        ("find / -fprint0 /tmp/x", false),
        ("find / -fprintf /tmp/x %p", false),
        ("find / -fls /tmp/x", false),
        ("find / -files0-from /tmp/x", false),
        ("find / -frobnicate", false),
        ("find / -name", false),
    ]);
}

#[test]
fn keys_and_certificates() {
    check(&[
        (
            "openssl x509 -in /etc/pve/local/pve-ssl.pem -noout -text",
            true,
        ),
        ("openssl x509 -noout -enddate -in c.pem", true),
        ("openssl x509 -in c.pem -noout -fingerprint -sha256", true),
        ("openssl x509 -in c.pem -noout -checkend 86400", true),
        (
            "openssl s_client -connect pve2:8006 -servername pve2 -showcerts",
            true,
        ),
        (
            "openssl verify -CAfile /etc/pve/pve-root-ca.pem c.pem",
            true,
        ),
        ("openssl version", true),
        ("openssl version -a", true),
        ("openssl ciphers -v", true),
        ("openssl crl -in c.crl -noout -text", true),
        ("openssl dgst -sha256 f", true),
        ("openssl sha256 f", true),
        ("openssl list -digest-algorithms", true),
        ("openssl req -in r.csr -noout -text", true),
        ("openssl x509 -in c.pem -out d.pem", false),
        ("openssl x509 -req -in r.csr -signkey k.pem", false),
        ("openssl x509 -in c.pem -engine x", false),
        (
            "openssl x509 -in c.pem -provider-path /tmp -provider x",
            false,
        ),
        ("openssl s_client -connect h:443 -sess_out /tmp/s", false),
        ("openssl s_client -connect h:443 -keylogfile /tmp/k", false),
        ("openssl s_client -connect h:443 -msgfile /tmp/m", false),
        ("openssl dgst -sha256 -out /tmp/x f", false),
        ("openssl dgst -sha256 -sign k.pem f", false),
        ("openssl req -new -key k.pem -out r.csr", false),
        ("openssl req -x509 -newkey rsa:2048", false),
        ("openssl req -text -noout", false),
        ("openssl genrsa -out k.pem", false),
        ("openssl enc -d -in x", false),
        ("openssl rsa -in k.pem", false),
        ("openssl", false),
        ("ssh-keygen -lf /root/.ssh/authorized_keys", true),
        ("ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub", true),
        ("ssh-keygen -l -E md5 -f k.pub", true),
        ("ssh-keygen -lv -f k.pub", true),
        ("ssh-keygen -F pve2", true),
        ("ssh-keygen -L -f c.pub", true),
        ("ssh-keygen -B -f k.pub", true),
        ("ssh-keygen", false),
        ("ssh-keygen -t ed25519", false),
        ("ssh-keygen -R pve2", false),
        ("ssh-keygen -H", false),
        ("ssh-keygen -y -f k", false),
        ("ssh-keygen -p -f k", false),
        ("ssh-keygen -s ca -I id k.pub", false),
    ]);
}

#[test]
fn sed_labels_end_where_gnu_sed_ends_them() {
    check(&[
        ("sed :x·e·pveum·user·delete·root@pam f", false),
        ("sed :x⏎e·id f", false),
        ("sed bx·e·id f", false),
        ("sed tx;e·id f", false),
        ("sed Tx}e·id f", false),
        ("sed b·x·w·/tmp/x f", false),
        ("sed :a;N;$!ba;s/\\n/·/g f", true),
        ("sed -n :a·p f", true),
        ("sed -e :a -e $!N -e ba f", true),
        ("sed /x/{:a;n;ba} f", true),
    ]);
}

#[test]
fn globs_are_no_scripts() {
    check(&[
        ("sed ≈a* f", false),
        ("sed ≈s* f", false),
        ("sed -n ≈[p] f", false),
        ("sed -e ≈p* f", false),
        ("sed ≈-es* f", false),
        ("sed --expression ≈p* f", false),
        ("sed -n p ≈*.log", false),
        ("sed -n p ≈a*.log", true),
        ("sed -n p -- ≈*.log", true),
        ("sed -n -- ≈p* f", false),
        ("awk ≈B* f", false),
        ("awk -F: ≈{* f", false),
        ("awk -e ≈x* f", false),
        ("awk --source ≈x* f", false),
        ("awk {print} ≈a*.log", true),
        ("find /tmp -name x -o ≈[a]*", false),
        ("find /tmp -newer ≈a*", false),
        ("find ≈/var/log/*.d -name x", true),
        ("find ≈a* -name x", true),
    ]);
}
