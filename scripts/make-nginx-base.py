#!/usr/bin/env python3
"""Makes an nginx base image offline, from the host's Debian nginx, as an OCI image layout.

Usage: make-nginx-base.py OUT_DIR [--tag TAG] [--push HOST:PORT/REPO:TAG]

The image stands in for nginx:alpine where no public registry is reachable (see
docs/base-image.md). Its one layer holds /usr/sbin/nginx with the shared libraries `ldd` lists
(the dynamic loader included), the usr-merge symlinks (/lib -> usr/lib, ...), a minimal /etc
(passwd and group with root, nginx 101:101 and nobody; nsswitch.conf), an nginx.conf laid out
like the official image's (conf.d/*.conf, logs to stdout and stderr through /var/log/nginx,
temp files under /var/cache/nginx), a default server on port 80 and two small pages. There is
no shell and no busybox. The image is for the host's architecture.

OUT_DIR becomes an OCI image layout (oci-layout, index.json, blobs/sha256/) whose index names
the image TAG (default: latest). An OUT_DIR that already holds a layout is updated: the entry
for TAG is replaced, other tags are kept, blobs nothing refers to any more are deleted.

The output is reproducible: the same host files give byte-identical blobs, so the same digest.
Every time stamp is SOURCE_DATE_EPOCH (default 0, 1970-01-01T00:00:00Z).

--push copies the image with `skopeo copy --dest-tls-verify=false` to docker://HOST:PORT/REPO:TAG
(plain http allowed, meant for a registry on this machine or a private network).

Prints progress on stderr and, at the end, the manifest digest (sha256:...) on stdout.
"""

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tarfile

NGINX = "/usr/sbin/nginx"
MIME_TYPES = "/etc/nginx/mime.types"
# Copied when the host has them, as the official image ships them next to mime.types.
OPTIONAL_NGINX_FILES = ("fastcgi_params", "scgi_params", "uwsgi_params")
USRMERGE_LINKS = ("bin", "sbin", "lib", "lib64")
INSTALL_HINT = "install nginx-light: apt-get install nginx-light"

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")

NGINX_UID = 101
NGINX_GID = 101

# uname -m -> (OCI architecture, variant)
ARCHES = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", None),
    "i686": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}

PASSWD = """\
root:x:0:0:root:/root:/sbin/nologin
nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
"""

GROUP = """\
root:x:0:
nginx:x:101:nginx
nogroup:x:65534:
"""

NSSWITCH = """\
passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
"""

NGINX_CONF = """\
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    client_body_temp_path /var/cache/nginx/client_temp;
    proxy_temp_path       /var/cache/nginx/proxy_temp;
    fastcgi_temp_path     /var/cache/nginx/fastcgi_temp;
    uwsgi_temp_path       /var/cache/nginx/uwsgi_temp;
    scgi_temp_path        /var/cache/nginx/scgi_temp;

    include /etc/nginx/conf.d/*.conf;
}
"""

# IPv4 only: there is no entrypoint script to drop an IPv6 listen where IPv6 is off.
DEFAULT_CONF = """\
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""

INDEX_HTML = """\
<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server of the nginx-base image is working.
Replace /usr/share/nginx/html and /etc/nginx/conf.d/default.conf with your site.</p>
</body>
</html>
"""

ERROR_HTML = """\
<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.
Please try again later.</p>
</body>
</html>
"""


class Failure(Exception):
    pass


def log(msg):
    print("make-nginx-base: " + msg, file=sys.stderr, flush=True)


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Tree:
    """The image's file system: path (relative, no leading /) -> entry."""

    def __init__(self):
        self.entries = {}

    def _parents(self, path):
        parent = os.path.dirname(path)
        if parent and parent not in self.entries:
            self.dir(parent)

    def dir(self, path, mode=0o755, uid=0, gid=0):
        self._parents(path)
        self.entries[path] = ("dir", mode, uid, gid, None)

    def file(self, path, data, mode=0o644, uid=0, gid=0):
        self._parents(path)
        self.entries[path] = ("file", mode, uid, gid, data)

    def symlink(self, path, target):
        self._parents(path)
        self.entries[path] = ("symlink", 0o777, 0, 0, target)

    def add_host_path(self, host_path, depth=0):
        """Copies host_path with every symlink met on the way to it (as a symlink, then its
        target), so that the path resolves in the image as it does on the host."""
        if depth > 40:
            raise Failure("too many levels of symbolic links at " + host_path)
        parts = [p for p in os.path.normpath(host_path).split("/") if p]
        current = ""
        for i, part in enumerate(parts):
            current += "/" + part
            rel = current[1:]
            try:
                st = os.lstat(current)
            except OSError as e:
                raise Failure("cannot read %s: %s" % (current, e.strerror))
            last = i == len(parts) - 1
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(current)
                if rel not in self.entries:
                    self.symlink(rel, target)
                base = os.path.dirname(current) if not target.startswith("/") else "/"
                resolved = os.path.normpath(os.path.join(base, target))
                rest = "/".join(parts[i + 1:])
                self.add_host_path(resolved + ("/" + rest if rest else ""), depth + 1)
                return
            if stat.S_ISDIR(st.st_mode):
                if rel not in self.entries:
                    self.dir(rel, stat.S_IMODE(st.st_mode) & 0o1777)
                continue
            if not last:
                raise Failure("%s is not a directory" % current)
            if not stat.S_ISREG(st.st_mode):
                raise Failure("%s is not a regular file" % current)
            with open(current, "rb") as f:
                data = f.read()
            self.file(rel, data, stat.S_IMODE(st.st_mode) & 0o777)

    def tar(self, mtime):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.entries, key=lambda p: p.encode("utf-8")):
                kind, mode, uid, gid, payload = self.entries[path]
                info = tarfile.TarInfo(path)
                info.mode = mode
                info.uid = uid
                info.gid = gid
                info.uname = ""
                info.gname = ""
                info.mtime = mtime
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = payload
                    tar.addfile(info)
                else:
                    info.type = tarfile.REGTYPE
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))
        return buf.getvalue()


def gzip_bytes(data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def needed_libraries(binary):
    """The absolute paths `ldd` lists for binary, the dynamic loader included."""
    try:
        out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise Failure("ldd not found (it comes with libc-bin)")
    except subprocess.CalledProcessError as e:
        raise Failure("ldd %s failed: %s" % (binary, (e.stderr or e.stdout).strip()))
    paths = []
    for line in out.splitlines():
        line = line.strip()
        if "=>" in line:
            name, _, rest = line.partition("=>")
            rest = rest.strip()
            if rest.startswith("not found"):
                raise Failure("%s needs %s, which is not installed" % (binary, name.strip()))
            path = rest.split(" (")[0].strip()
        else:
            path = line.split(" (")[0].strip()
        if path.startswith("/"):
            paths.append(path)
    if not paths:
        raise Failure("ldd lists no libraries for %s (is it statically linked?)" % binary)
    return sorted(set(paths))


def nginx_version():
    try:
        res = subprocess.run([NGINX, "-v"], capture_output=True, text=True)
    except OSError as e:
        raise Failure("cannot run %s: %s; %s" % (NGINX, e.strerror, INSTALL_HINT))
    m = re.search(r"nginx/([0-9][^\s]*)", res.stderr + res.stdout)
    if not m:
        raise Failure("cannot tell the version of %s from: %s" % (NGINX, res.stderr.strip()))
    return m.group(1)


def debian_package_of(path):
    """'nginx 1.22.1-9+deb12u11', or None outside dpkg."""
    try:
        res = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
        if res.returncode != 0:
            return None
        pkg = res.stdout.split(":")[0].strip()
        res = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                             capture_output=True, text=True)
        if res.returncode != 0:
            return None
        return "%s %s" % (pkg, res.stdout.strip())
    except OSError:
        return None


def oci_platform():
    machine = platform.machine()
    if machine not in ARCHES:
        raise Failure("unknown machine architecture %r (uname -m)" % machine)
    arch, variant = ARCHES[machine]
    plat = {"architecture": arch, "os": "linux"}
    if variant:
        plat["variant"] = variant
    return plat


def source_date_epoch():
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return 0
    if not value.isdigit():
        raise Failure("SOURCE_DATE_EPOCH must be a number of seconds, not %r" % value)
    return int(value)


def read_host_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise Failure("cannot read %s: %s; %s" % (path, e.strerror, INSTALL_HINT))


def build_tree(libraries):
    tree = Tree()
    for name in USRMERGE_LINKS:
        if os.path.islink("/" + name):
            tree.add_host_path("/" + name)
    tree.add_host_path(NGINX)
    for lib in libraries:
        tree.add_host_path(lib)

    tree.file("etc/passwd", PASSWD.encode())
    tree.file("etc/group", GROUP.encode())
    tree.file("etc/nsswitch.conf", NSSWITCH.encode())
    tree.file("etc/nginx/nginx.conf", NGINX_CONF.encode())
    tree.file("etc/nginx/mime.types", read_host_file(MIME_TYPES))
    for name in OPTIONAL_NGINX_FILES:
        path = "/etc/nginx/" + name
        if os.path.isfile(path):
            tree.file("etc/nginx/" + name, read_host_file(path))
    tree.file("etc/nginx/conf.d/default.conf", DEFAULT_CONF.encode())
    tree.file("usr/share/nginx/html/index.html", INDEX_HTML.encode())
    tree.file("usr/share/nginx/html/50x.html", ERROR_HTML.encode())

    tree.dir("tmp", 0o1777)
    tree.dir("run")
    tree.dir("var")
    tree.symlink("var/run", "../run")
    tree.dir("var/log/nginx")
    tree.symlink("var/log/nginx/access.log", "/dev/stdout")
    tree.symlink("var/log/nginx/error.log", "/dev/stderr")
    # Temp files: those of our nginx.conf, and Debian's compiled-in ones for a replaced one.
    tree.dir("var/cache/nginx", 0o755, NGINX_UID, NGINX_GID)
    for name in ("client_temp", "proxy_temp", "fastcgi_temp", "uwsgi_temp", "scgi_temp"):
        tree.dir("var/cache/nginx/" + name, 0o700, NGINX_UID, NGINX_GID)
    tree.dir("var/lib/nginx", 0o755, NGINX_UID, NGINX_GID)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        tree.dir("var/lib/nginx/" + name, 0o700, NGINX_UID, NGINX_GID)
    return tree


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def referenced_blobs(blob_dir, descriptors, seen):
    """Adds the hex digests of descriptors and of everything they refer to, to seen."""
    for desc in descriptors:
        digest = desc.get("digest", "")
        if not digest.startswith("sha256:"):
            continue
        hexd = digest[len("sha256:"):]
        if hexd in seen:
            continue
        seen.add(hexd)
        if desc.get("mediaType") in (MT_MANIFEST, MT_INDEX,
                                     "application/vnd.docker.distribution.manifest.v2+json",
                                     "application/vnd.docker.distribution.manifest.list.v2+json"):
            try:
                with open(os.path.join(blob_dir, hexd), "rb") as f:
                    doc = json.load(f)
            except (OSError, ValueError):
                continue
            children = list(doc.get("manifests", [])) + list(doc.get("layers", []))
            if "config" in doc:
                children.append(doc["config"])
            referenced_blobs(blob_dir, children, seen)


def write_layout(out_dir, tag, blobs, manifest_desc):
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise Failure("%s exists and is not a directory" % out_dir)
    existing = []
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not os.path.isfile(os.path.join(out_dir, "oci-layout")):
            raise Failure("%s is neither empty nor an OCI image layout; not touching it" % out_dir)
        try:
            with open(os.path.join(out_dir, "index.json"), "rb") as f:
                existing = json.load(f).get("manifests", [])
        except FileNotFoundError:
            existing = []
        except (OSError, ValueError) as e:
            raise Failure("cannot read %s/index.json: %s" % (out_dir, e))
    blob_dir = os.path.join(out_dir, "blobs", "sha256")
    os.makedirs(blob_dir, exist_ok=True)
    for data in blobs:
        write_atomic(os.path.join(blob_dir, hashlib.sha256(data).hexdigest()), data)
    write_atomic(os.path.join(out_dir, "oci-layout"),
                 canonical_json({"imageLayoutVersion": "1.0.0"}))
    manifests = [m for m in existing if m.get("annotations", {}).get(REF_NAME) != tag]
    manifests.append(manifest_desc)
    manifests.sort(key=lambda m: m.get("annotations", {}).get(REF_NAME, ""))
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}
    write_atomic(os.path.join(out_dir, "index.json"), canonical_json(index))
    keep = set()
    referenced_blobs(blob_dir, manifests, keep)
    for name in os.listdir(blob_dir):
        if name not in keep:
            os.remove(os.path.join(blob_dir, name))


def push(out_dir, tag, dest):
    if shutil.which("skopeo") is None:
        raise Failure("skopeo not found; install it: apt-get install skopeo")
    if not dest.startswith("docker://"):
        dest = "docker://" + dest
    src = "oci:%s:%s" % (os.path.abspath(out_dir), tag)
    log("pushing %s to %s" % (src, dest))
    # skopeo's progress goes to our stderr: stdout holds only the digest.
    res = subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", src, dest],
                         stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise Failure("skopeo copy failed: %s" % res.stderr.strip())


def main():
    parser = argparse.ArgumentParser(
        prog="make-nginx-base.py",
        description="Make an nginx base image offline from the host's Debian nginx, written as "
        "an OCI image layout in OUT_DIR; print its manifest digest.",
        epilog="Reproducible: the same host files give the same digest. Time stamps are "
        "SOURCE_DATE_EPOCH (default 0). See docs/base-image.md.")
    parser.add_argument("out_dir", metavar="OUT_DIR",
                        help="directory for the OCI image layout (created, or updated if it "
                        "already holds one)")
    parser.add_argument("--tag", default="latest",
                        help="name of the image in the layout's index.json (default: latest)")
    parser.add_argument("--push", metavar="HOST:PORT/REPO:TAG",
                        help="then copy the image there with skopeo, over plain http or "
                        "unverified https")
    args = parser.parse_args()

    try:
        if not TAG_RE.match(args.tag):
            raise Failure("bad tag %r: letters, digits, '_', '.', '-' (at most 128)" % args.tag)
        if not os.path.isfile(NGINX):
            raise Failure("%s not found; %s" % (NGINX, INSTALL_HINT))
        if not os.path.isfile(MIME_TYPES):
            raise Failure("%s not found; %s" % (MIME_TYPES, INSTALL_HINT))
        epoch = source_date_epoch()
        created = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        plat = oci_platform()
        version = nginx_version()
        package = debian_package_of(NGINX)
        libraries = needed_libraries(NGINX)
        log("nginx %s%s for %s/%s, %d libraries" % (
            version, " (Debian package %s)" % package if package else "", plat["os"],
            plat["architecture"], len(libraries)))

        tree = build_tree(libraries)
        layer_tar = tree.tar(epoch)
        layer = gzip_bytes(layer_tar)
        log("layer: %d entries, %d bytes, %d bytes gzipped" % (
            len(tree.entries), len(layer_tar), len(layer)))

        config = dict(plat)
        config.update({
            "created": created,
            "config": {
                "Env": [
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "NGINX_VERSION=" + version,
                ],
                "Cmd": ["nginx", "-g", "daemon off;"],
                "ExposedPorts": {"80/tcp": {}},
                "StopSignal": "SIGQUIT",
                "WorkingDir": "/",
                "Labels": {
                    "org.opencontainers.image.title": "nginx-base",
                    "org.opencontainers.image.description":
                        "nginx %s in the layout of the official nginx image, made offline "
                        "from Debian's nginx%s" % (version, " (%s)" % package if package else ""),
                    "org.opencontainers.image.version": version,
                },
            },
            "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
            "history": [{
                "created": created,
                "created_by": "scripts/make-nginx-base.py: /usr/sbin/nginx and its libraries "
                              "from Debian's %s, /etc/nginx, a minimal /etc" % (package or "nginx"),
            }],
        })
        config_blob = canonical_json(config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "config": {"mediaType": MT_CONFIG, "digest": sha256(config_blob),
                       "size": len(config_blob)},
            "layers": [{"mediaType": MT_LAYER, "digest": sha256(layer), "size": len(layer)}],
        }
        manifest_blob = canonical_json(manifest)
        digest = sha256(manifest_blob)
        manifest_desc = {
            "mediaType": MT_MANIFEST,
            "digest": digest,
            "size": len(manifest_blob),
            "platform": plat,
            "annotations": {REF_NAME: args.tag},
        }
        write_layout(args.out_dir, args.tag, [layer, config_blob, manifest_blob], manifest_desc)
        log("wrote %s:%s %s" % (args.out_dir, args.tag, digest))

        if args.push:
            push(args.out_dir, args.tag, args.push)
    except Failure as e:
        log("error: " + str(e))
        return 1
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
