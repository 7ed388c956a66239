#!/usr/bin/env bash
# Builds the Signet appliance image for one board from Debian packages and
# the binaries of a build tree:
#
#   firmware/image/build-image.sh [-b build-dir] [-v prod|debug] [-e site.env]
#       [-r root] BOARD OUTDIR
#
# BOARD is a folder under board/ with board.env and signetd.conf
# (qemu-x86_64, rack-x86_64).  -e adds a site's KEY=value lines after the
# board's (later lines win), so an operator fills in a board without
# editing the repository.  OUTDIR receives
#
#   vmlinuz       Debian's kernel (package linux-image-amd64), unchanged
#   initrd.img    the whole root file system: a gzip'd newc cpio, unpacked
#                 by the kernel into RAM and made read-only by /init
#   cmdline       the board's kernel command line
#   manifest.txt  every file in the image with its size, the Debian package
#                 it came from and its version, and the sha256 of both
#                 outputs
#
# The build tree must be a release build with the sandbox: its signetd -V
# must say "signetd sandbox=seccomp test_hooks=no", or nothing is built
# (the image runs signetd with sandbox = true, as root; signetd starts each
# child as its own user: signet, signet-https, signet-coap).
#
# -r (or SIGNET_IMAGE_ROOT in the environment) names a Debian build root
# (tools/trixie-root.sh: Debian 13) from which the kernel, busybox, the
# libraries and the manifest's package versions come instead of this
# machine's: the recipe runs itself inside that root (tools/in-root.sh),
# so build-dir and OUTDIR must lie inside this source tree, and build-dir
# must have been built in the same root (release-build.sh does that).
#
# The result depends only on its inputs: the same build tree, the same
# installed Debian packages and the same SOURCE_DATE_EPOCH (default: the
# last commit's time) give byte-identical vmlinuz and initrd.img (fixed
# mtimes and owners, sorted cpio with --reproducible, gzip -n).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/firmware/image

usage() {
	echo "usage: build-image.sh [-b build-dir] [-v prod|debug] [-e site.env] [-r root] BOARD OUTDIR" >&2
	exit 2
}
fail() { echo "build-image: $*" >&2; exit 1; }

build=$top/build
variant=prod
site=
broot=${SIGNET_IMAGE_ROOT:-}
args=("$@")
while getopts b:v:e:r: opt; do
	case $opt in
	b) build=$OPTARG ;;
	r) broot=$OPTARG ;;
	e) site=$OPTARG ;;
	v) variant=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || usage
board=$1
out=$2
case $variant in prod | debug) ;; *) fail "variant must be prod or debug, not $variant" ;; esac
bdir=$top/board/$board
[ -f "$bdir/board.env" ] || fail "no board $board ($bdir/board.env missing)"
[ -f "$bdir/signetd.conf" ] || fail "board $board has no signetd.conf"
build=$(cd "$build" && pwd) || fail "no build directory $build"
[ -z "$site" ] || [ -f "$site" ] || fail "no site file $site"

# In a build root: run this same script there, with the inputs that come
# from git (not in the root) fixed here.
if [ -n "$broot" ] && [ -z "${SIGNET_IN_ROOT:-}" ]; then
	mkdir -p "$out"
	for d in "$build" "$(cd "$out" && pwd)" ${site:+"$(cd "$(dirname "$site")" && pwd)"}; do
		case $d/ in "$top"/*) ;; *) fail "with a build root, $d must be inside $top" ;; esac
	done
	SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}
	SIGNET_IMAGE_VERSION=${SIGNET_IMAGE_VERSION:-$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)}
	export SOURCE_DATE_EPOCH SIGNET_IMAGE_VERSION
	exec "$top/tools/in-root.sh" -r "$broot" env SIGNET_IN_ROOT=1 \
		bash "$here/build-image.sh" "${args[@]}"
fi
for t in busybox cpio gzip ldd modprobe mke2fs e2fsck dpkg-query; do
	command -v "$t" >/dev/null ||
		fail "$t not found (run tools/install-deps.sh --image)"
done
busybox=$(command -v busybox)
# The busybox package is dynamic; busybox-static is what the image needs.
if ldd "$busybox" >/dev/null 2>&1; then
	fail "$busybox is dynamically linked: install busybox-static"
fi

# The board's settings, then the site's (plain KEY=value lines, like /init).
envfile=$(mktemp)
cat "$bdir/board.env" > "$envfile"
if [ -n "$site" ]; then
	printf '\n# --- site settings from %s\n' "$(basename "$site")" >> "$envfile"
	cat "$site" >> "$envfile"
fi
board_get() {
	sed -n "s/^$1=//p" "$envfile" | tail -n1 | sed 's/^"\(.*\)"$/\1/'
}
modules=$(board_get SIGNET_MODULES)
module_path=$(board_get SIGNET_PKCS11_MODULE)
hsm_dir=$(board_get SIGNET_HSM_DIR)
cmdline=$(board_get SIGNET_KERNEL_CMDLINE)
[ -n "$module_path" ] || fail "$board: SIGNET_PKCS11_MODULE is empty"

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}
export LC_ALL=C TZ=UTC
umask 022

# Debian's kernel: the version linux-image-amd64 depends on.
kver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
	sed -n 's/.*linux-image-\([0-9][^ ,]*-amd64\).*/\1/p') ||
	true
[ -n "$kver" ] || fail "linux-image-amd64 is not installed (tools/install-deps.sh --image)"
[ -r "/boot/vmlinuz-$kver" ] || fail "/boot/vmlinuz-$kver missing or unreadable"
[ -d "/lib/modules/$kver" ] || fail "/lib/modules/$kver missing"

stage=$(mktemp -d "${TMPDIR:-/tmp}/signet-image.XXXXXX")
trap 'rm -rf "$stage" "$envfile"' EXIT
root=$stage/root
mkdir -p "$root"

# Mirror the host's merged-/usr layout so library paths from ldd are valid.
for d in bin sbin lib lib64; do
	if [ -L "/$d" ]; then
		ln -s "$(readlink "/$d")" "$root/$d"
	fi
done
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/libexec/signet,etc/signet,etc/acpi} \
	"$root"/{proc,sys,dev,run,tmp,var/lib/signet}
# The front ends' chroot (sandbox_dir): empty, root's (cpio --owner=0:0),
# 0755, on the read-only root.  Nothing may ever be put in it.
mkdir -m 0755 "$root/var/empty"
mkdir -p "$root/bin" "$root/sbin" 2>/dev/null || true
ln -s ../run "$root/var/run"

declare -A copied=()
# Copies one host file to the same path in the image: the real file at its
# canonical path, plus a symlink where the name used differs (sonames).
copy_path() {
	local p=$1 real canon
	[ -z "${copied[$p]:-}" ] || return 0
	copied[$p]=1
	[ -e "$p" ] || fail "missing $p"
	real=$(readlink -f "$p")
	canon=$(readlink -f "$(dirname "$p")")/$(basename "$p")
	if [ ! -e "$root$real" ]; then
		mkdir -p "$root$(dirname "$real")"
		cp -p "$real" "$root$real" || fail "cannot copy $real"
	fi
	if [ "$canon" != "$real" ] && [ ! -e "$root$canon" ] && [ ! -L "$root$canon" ]; then
		mkdir -p "$root$(dirname "$canon")"
		ln -s "$(realpath -s --relative-to="$(dirname "$canon")" "$real")" "$root$canon"
	fi
	echo "$real" >> "$stage/files"
}
# The shared libraries an ELF file needs, as absolute paths (ldd).
needed_libs() {
	if ldd "$1" 2>&1 | grep -q 'not found'; then
		fail "$1: $(ldd "$1" | grep 'not found' | head -n1)"
	fi
	ldd "$1" 2>/dev/null | sed -n \
		's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' || true
}
# Copies a host ELF file and exactly the shared libraries it needs.
copy_elf() {
	local lib libs
	copy_path "$1"
	libs=$(needed_libs "$1") || exit 1
	for lib in $libs; do copy_path "$lib"; done
}
# Installs a build-tree binary at an image path, with its libraries.
install_bin() {
	local lib libs
	install -m 0755 "$1" "$root$2" || fail "cannot install $1"
	echo "$1 -> $2" >> "$stage/built"
	libs=$(needed_libs "$1") || exit 1
	for lib in $libs; do copy_path "$lib"; done
}

# 1. Signet's binaries, whatever of them this build tree has.
find_built() {
	find "$build" -type f -name "$1" -perm -u+x -not -path '*/CMakeFiles/*' | sort | head -n1
}
sd=$(find_built signetd)
[ -n "$sd" ] || fail "no signetd in $build (build it first: cmake --build $build)"
# The appliance runs with sandbox = true: only a build with the seccomp
# sandbox and without the test hooks (SIGNET_TEST_HOOKS: a signal makes a
# sandboxed process call execve) may become an image.
want="signetd sandbox=seccomp test_hooks=no"
says=$("$sd" -V 2>&1 | head -n1) || true
[ "$says" = "$want" ] ||
	fail "refusing $sd: 'signetd -V' says '${says:-nothing}', not '$want';" \
		"build the image from a build with -DSIGNET_SANDBOX=ON and" \
		"-DSIGNET_TEST_HOOKS=OFF (tests/integration/image/release-build.sh)"
install_bin "$sd" /usr/sbin/signetd
for b in signet-engine signet-https signet-coap signet-validator signet-notify \
    signet-provision; do
	p=$(find_built "$b")
	if [ -n "$p" ]; then
		install_bin "$p" "/usr/libexec/signet/$b"
	else
		echo "build-image: note: no $b in $build; the image runs without it" >&2
	fi
done
[ -x "$root/usr/libexec/signet/signet-provision" ] ||
	fail "no signet-provision in $build; first boot cannot provision"
# The sandbox's library comes in through ldd; make sure it did.
ls "$root"/usr/lib/*/libseccomp.so.* >/dev/null 2>&1 ||
	ls "$root"/lib/*/libseccomp.so.* >/dev/null 2>&1 ||
	fail "libseccomp is not in the image although $sd has the sandbox"
if ldd "$sd" | grep -q libasan; then
	echo "build-image: WARNING: $sd is an AddressSanitizer build;" \
		"the image will be large and slow" >&2
fi

# 2. The PKCS#11 module and everything it links, and a vendor's files.
if [ -n "$hsm_dir" ]; then
	[ -d "$hsm_dir" ] || fail "SIGNET_HSM_DIR=$hsm_dir is not a directory"
	mkdir -p "$root/opt/hsm"
	cp -a "$hsm_dir"/. "$root/opt/hsm"/ || fail "cannot copy $hsm_dir"
	echo "$hsm_dir -> /opt/hsm" >> "$stage/built"
fi
if [ -e "$root$module_path" ]; then
	libs=$(needed_libs "$root$module_path") || exit 1
	for lib in $libs; do copy_path "$lib"; done
else
	[ -e "$module_path" ] || fail "PKCS#11 module $module_path not found"
	copy_elf "$module_path"
fi
if [ -f "$bdir/softhsm2.conf" ]; then
	install -m 0644 "$bdir/softhsm2.conf" "$root/etc/signet/softhsm2.conf"
fi

# 3. Tools /init uses: busybox (the shell running /init and its applets),
# e2fsprogs for the data disk.
install -m 0755 "$busybox" "$root/usr/bin/busybox"
echo "$busybox" >> "$stage/files"
applets="sh ash mount umount mkdir cat echo grep basename tr insmod sleep findfs
dd wc hexdump tar ls hostname ip head chown chmod install sed cut kill poweroff
setpriv start-stop-daemon acpid sync cp mv rm true false test [ printf readlink
sha256sum"
if [ "$variant" = debug ]; then
	applets=$("$busybox" --list)
fi
for a in $applets; do
	case $a in busybox) continue ;; esac
	[ -e "$root/usr/bin/$a" ] || ln -s busybox "$root/usr/bin/$a"
done
copy_elf "$(command -v mke2fs)"
copy_elf "$(command -v e2fsck)"
[ -f /etc/mke2fs.conf ] && copy_path /etc/mke2fs.conf
ln -sf ../bin/busybox "$root/usr/sbin/nologin"

# 4. Kernel modules, in load order, dependencies first.
: > "$root/etc/signet/modules.load"
for m in $modules; do
	modprobe --show-depends -S "$kver" "$m" >/dev/null 2>&1 ||
		fail "kernel $kver has no module $m"
	modprobe --show-depends -S "$kver" "$m" | while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		grep -qxF "$path" "$root/etc/signet/modules.load" ||
			echo "$path" >> "$root/etc/signet/modules.load"
	done
done
while read -r ko; do copy_path "$ko"; done < "$root/etc/signet/modules.load"

# 5. Configuration, users, init.
install -m 0644 "$envfile" "$root/etc/signet/board.env"
install -m 0644 "$bdir/signetd.conf" "$root/etc/signet/signetd.conf.in"
install -m 0755 "$here/init" "$root/init"
install -m 0644 "$here/acpid.conf" "$root/etc/acpid.conf"
install -m 0755 "$here/acpi-power" "$root/etc/acpi/power"
# The system users, with fixed ids (the image is reproducible, and the data
# volume's files belong to uid 100): the engine's (it owns the data
# volume), and one per front end, which signetd drops to inside the empty
# chroot.  No account has a shell (nologin) or a password (no /etc/shadow).
{
	echo 'root:x:0:0:root:/:/usr/sbin/nologin'
	echo 'signet:x:100:100:Signet CA engine:/var/lib/signet:/usr/sbin/nologin'
	echo 'signet-https:x:101:101:Signet HTTPS front end:/var/empty:/usr/sbin/nologin'
	echo 'signet-coap:x:102:102:Signet CoAP front end:/var/empty:/usr/sbin/nologin'
} > "$root/etc/passwd"
printf 'root:x:0:\nsignet:x:100:\nsignet-https:x:101:\nsignet-coap:x:102:\n' \
	> "$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files\n' > "$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"
if [ "$variant" = debug ]; then
	echo "this is a debug image: /init starts a root shell on the console" \
		> "$root/etc/signet/debug-console"
fi
# SIGNET_IMAGE_VERSION names the image; default: git describe of the tree.
gitrev=${SIGNET_IMAGE_VERSION:-$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)}
echo "signet $gitrev $board $variant $SOURCE_DATE_EPOCH kernel $kver" \
	> "$root/etc/signet/version"

# 6. The archive: fixed mtimes, sorted names, owner root, gzip without name.
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
out=$(cd "$out" && pwd)
(cd "$root" && find . -print0 | sort -z |
	cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) \
	> "$stage/initrd.cpio" || fail "cpio failed"
gzip -n -9 < "$stage/initrd.cpio" > "$out/initrd.img.tmp" || fail "gzip failed"
mv "$out/initrd.img.tmp" "$out/initrd.img"
install -m 0644 "/boot/vmlinuz-$kver" "$out/vmlinuz"
touch -d "@$SOURCE_DATE_EPOCH" "$out/vmlinuz" "$out/initrd.img"
echo "$cmdline" > "$out/cmdline"

# 7. The manifest: what is in the image and where it came from.
{
	echo "# Signet image: $(cat "$root/etc/signet/version")"
	echo "# built from $build:"
	sed 's/^/#   /' "$stage/built"
	echo "# files from Debian packages (path package version):"
	# One dpkg -S for all files; merged /usr: dpkg may know /lib or /bin.
	sort -u "$stage/files" > "$stage/files.sorted"
	sed 's|^/usr/|/|' "$stage/files.sorted" | cat - "$stage/files.sorted" |
		xargs dpkg -S 2>/dev/null | sed 's/^\([^:]*\)[^ ]* \(.*\)$/\2 \1/' \
		> "$stage/owners" || true
	while read -r f; do
		alt=${f#/usr}
		pkg=$(awk -v a="$f" -v b="$alt" '$1 == a || $1 == b { print $2; exit }' "$stage/owners")
		ver=$( [ -n "$pkg" ] && dpkg-query -W -f='${Version}' "${pkg%%:*}" 2>/dev/null || echo "?")
		echo "$f ${pkg:-?} $ver"
	done < "$stage/files.sorted"
	echo "# kernel: linux-image-$kver $(dpkg-query -W -f='${Version}' "linux-image-$kver")"
	(cd "$out" && sha256sum vmlinuz initrd.img)
} > "$out/manifest.txt"

ksize=$(stat -c %s "$out/vmlinuz")
isize=$(stat -c %s "$out/initrd.img")
usize=$(stat -c %s "$stage/initrd.cpio")
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "image $board ($variant) in $out:"
echo "  vmlinuz     $(mib "$ksize")"
echo "  initrd.img  $(mib "$isize") (root file system, $(mib "$usize") unpacked)"
echo "  total       $(mib $((ksize + isize)))"
(cd "$out" && sha256sum vmlinuz initrd.img | sed 's/^/  /')
