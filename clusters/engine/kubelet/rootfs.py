"""The file systems of the images: what `kubectl exec POD -- ls /…` and `cat …` show in a container.

Each image's tree is its base OS (busybox, Alpine, Debian, Ubuntu, a distroless nothing) plus what the
image adds (nginx's configuration and pages, httpd's htdocs, redis's /data, the binaries it ships), built
once per image and shared by every container of it (shell/filesystem.py Tree). Only what a learner is
likely to look at has content, and that content is the real one: nginx's welcome page is the one
images.http_response serves (one source, images.nginx_welcome), nginx.conf and conf.d/default.conf as the
official image ships them (the entrypoint's 10-listen-on-ipv6-by-default.sh has added its `listen [::]:80`
line by the time anyone looks), /etc/os-release of the release the image is built on.

The files the kubelet writes into every container (/etc/hosts, /etc/hostname, /etc/resolv.conf) and the
volumes are not here: environment.container_files lays them over the tree.

Sources: nginx/docker-nginx (Dockerfiles: the Debian release of each line, the entrypoint scripts,
`ln -sf /dev/stdout /var/log/nginx/access.log`), nginx's packaged nginx.conf and default.conf, nginx/nginx
conf/*_params, docker-library httpd (htdocs/index.html, WORKDIR /usr/local/apache2) and redis (WORKDIR
/data), the os-release files of Debian 12/13, Ubuntu 24.04 and Alpine 3.22.
"""
from __future__ import annotations

import re

from . import images
from .shell.filesystem import Tree

# A binary's content: enough for `cat` to show an ELF header's start, as it would (garbled) for real.
_ELF = "\x7fELF\x02\x01\x01\x00"

_DEBIAN = {  # codename: (VERSION_ID, debian_version)
    "trixie": ("13", "13.1"), "bookworm": ("12", "12.12"), "bullseye": ("11", "11.11"), "buster": ("10", "10.13"),
    "stretch": ("9", "9.13"), "jessie": ("8", "8.11"),
}
_DEBIAN_BY_NUMBER = {number: codename for codename, (number, _full) in _DEBIAN.items()}
_ALPINE = "3.22.1"


def _os_release_debian(codename: str) -> str:
    number, full = _DEBIAN[codename]
    extra = f"DEBIAN_VERSION_FULL={full}\n" if int(number) >= 13 else ""
    return (f'PRETTY_NAME="Debian GNU/Linux {number} ({codename})"\nNAME="Debian GNU/Linux"\n'
            f'VERSION_ID="{number}"\nVERSION="{number} ({codename})"\nVERSION_CODENAME={codename}\n{extra}'
            'ID=debian\nHOME_URL="https://www.debian.org/"\nSUPPORT_URL="https://www.debian.org/support"\n'
            'BUG_REPORT_URL="https://bugs.debian.org/"\n')


def _os_release_alpine(version: str) -> str:
    minor = ".".join(version.split(".")[:2])
    return (f'NAME="Alpine Linux"\nID=alpine\nVERSION_ID={version}\nPRETTY_NAME="Alpine Linux v{minor}"\n'
            'HOME_URL="https://alpinelinux.org/"\n'
            'BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n')


_OS_RELEASE_UBUNTU = (
    'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04.3 LTS (Noble Numbat)"\n'
    'VERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nHOME_URL="https://www.ubuntu.com/"\n'
    'SUPPORT_URL="https://help.ubuntu.com/"\nBUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"\n'
    'PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"\n'
    'UBUNTU_CODENAME=noble\nLOGO=ubuntu-logo\n')

_PASSWD_BUSYBOX = (
    "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nbin:x:2:2:bin:/bin:/bin/false\n"
    "sys:x:3:3:sys:/dev:/bin/false\nsync:x:4:100:sync:/bin:/bin/sync\nmail:x:8:8:mail:/var/spool/mail:/bin/false\n"
    "www-data:x:33:33:www-data:/var/www:/bin/false\noperator:x:37:37:Operator:/var:/bin/false\n"
    "nobody:x:65534:65534:nobody:/home:/bin/false\n")
_PASSWD_DEBIAN = (
    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "bin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\nsync:x:4:65534:sync:/bin:/bin/sync\n"
    "games:x:5:60:games:/usr/games:/usr/sbin/nologin\nman:x:6:12:man:/var/cache/man:/usr/sbin/nologin\n"
    "lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin\nmail:x:8:8:mail:/var/mail:/usr/sbin/nologin\n"
    "news:x:9:9:news:/var/spool/news:/usr/sbin/nologin\nuucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin\n"
    "proxy:x:13:13:proxy:/bin:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
    "backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n"
    "list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin\nirc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin\n"
    "_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
_PASSWD_ALPINE = (
    "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\n"
    "lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin\nsync:x:5:0:sync:/sbin:/bin/sync\n"
    "shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown\nhalt:x:7:0:halt:/sbin:/sbin/halt\n"
    "mail:x:8:12:mail:/var/mail:/sbin/nologin\nnews:x:9:13:news:/usr/lib/news:/sbin/nologin\n"
    "uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin\ncron:x:16:16:cron:/var/spool/cron:/sbin/nologin\n"
    "ftp:x:21:21::/var/lib/ftp:/sbin/nologin\nsshd:x:22:22:sshd:/dev/null:/sbin/nologin\n"
    "games:x:35:35:games:/usr/games:/sbin/nologin\nntp:x:123:123:NTP:/var/empty:/sbin/nologin\n"
    "guest:x:405:100:guest:/dev/null:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n")

# ----------------------------------------------------------------------------- nginx
_NGINX_CONF = """
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log {level};
pid        {pid};


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

    include /etc/nginx/conf.d/*.conf;
}
"""

_NGINX_DEFAULT_CONF = """server {
    listen       80;
{ipv6}    server_name  localhost;

    #access_log  /var/log/nginx/host.access.log  main;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    #error_page  404              /404.html;

    # redirect server error pages to the static page /50x.html
    #
    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }

    # proxy the PHP scripts to Apache listening on 127.0.0.1:80
    #
    #location ~ \\.php$ {
    #    proxy_pass   http://127.0.0.1;
    #}

    # pass the PHP scripts to FastCGI server listening on 127.0.0.1:9000
    #
    #location ~ \\.php$ {
    #    root           html;
    #    fastcgi_pass   127.0.0.1:9000;
    #    fastcgi_index  index.php;
    #    fastcgi_param  SCRIPT_FILENAME  /scripts$fastcgi_script_name;
    #    include        fastcgi_params;
    #}

    # deny access to .htaccess files, if Apache's document root
    # concurs with nginx's one
    #
    #location ~ /\\.ht {
    #    deny  all;
    #}
}

"""

_FASTCGI_PARAMS = """
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;

fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;

fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;

fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;

# PHP only, required if PHP was built with --enable-force-cgi-redirect
fastcgi_param  REDIRECT_STATUS    200;
"""

_SCGI_PARAMS = """
scgi_param  REQUEST_METHOD     $request_method;
scgi_param  REQUEST_URI        $request_uri;
scgi_param  QUERY_STRING       $query_string;
scgi_param  CONTENT_TYPE       $content_type;

scgi_param  DOCUMENT_URI       $document_uri;
scgi_param  DOCUMENT_ROOT      $document_root;
scgi_param  SCGI               1;
scgi_param  SERVER_PROTOCOL    $server_protocol;
scgi_param  REQUEST_SCHEME     $scheme;
scgi_param  HTTPS              $https if_not_empty;

scgi_param  REMOTE_ADDR        $remote_addr;
scgi_param  REMOTE_PORT        $remote_port;
scgi_param  SERVER_PORT        $server_port;
scgi_param  SERVER_NAME        $server_name;
"""

_UWSGI_PARAMS = """
uwsgi_param  QUERY_STRING       $query_string;
uwsgi_param  REQUEST_METHOD     $request_method;
uwsgi_param  CONTENT_TYPE       $content_type;
uwsgi_param  CONTENT_LENGTH     $content_length;

uwsgi_param  REQUEST_URI        $request_uri;
uwsgi_param  PATH_INFO          $document_uri;
uwsgi_param  DOCUMENT_ROOT      $document_root;
uwsgi_param  SERVER_PROTOCOL    $server_protocol;
uwsgi_param  REQUEST_SCHEME     $scheme;
uwsgi_param  HTTPS              $https if_not_empty;

uwsgi_param  REMOTE_ADDR        $remote_addr;
uwsgi_param  REMOTE_PORT        $remote_port;
uwsgi_param  SERVER_PORT        $server_port;
uwsgi_param  SERVER_NAME        $server_name;
"""

_MIME_TYPES = """
types {
    text/html                                        html htm shtml;
    text/css                                         css;
    text/xml                                         xml;
    image/gif                                        gif;
    image/jpeg                                       jpeg jpg;
    application/javascript                           js;
    application/atom+xml                             atom;
    application/rss+xml                              rss;

    text/mathml                                      mml;
    text/plain                                       txt;
    text/vnd.sun.j2me.app-descriptor                 jad;
    text/vnd.wap.wml                                 wml;
    text/x-component                                 htc;

    image/avif                                       avif;
    image/png                                        png;
    image/svg+xml                                    svg svgz;
    image/tiff                                       tif tiff;
    image/vnd.wap.wbmp                               wbmp;
    image/webp                                       webp;
    image/x-icon                                     ico;
    image/x-jng                                      jng;
    image/x-ms-bmp                                   bmp;

    font/woff                                        woff;
    font/woff2                                       woff2;

    application/java-archive                         jar war ear;
    application/json                                 json;
    application/mac-binhex40                         hqx;
    application/msword                               doc;
    application/pdf                                  pdf;
    application/postscript                           ps eps ai;
    application/rtf                                  rtf;
    application/vnd.apple.mpegurl                    m3u8;
    application/vnd.google-earth.kml+xml             kml;
    application/vnd.google-earth.kmz                 kmz;
    application/vnd.ms-excel                         xls;
    application/vnd.ms-fontobject                    eot;
    application/vnd.ms-powerpoint                    ppt;
    application/vnd.oasis.opendocument.graphics      odg;
    application/vnd.oasis.opendocument.presentation  odp;
    application/vnd.oasis.opendocument.spreadsheet   ods;
    application/vnd.oasis.opendocument.text          odt;
    application/vnd.openxmlformats-officedocument.presentationml.presentation
                                                     pptx;
    application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
                                                     xlsx;
    application/vnd.openxmlformats-officedocument.wordprocessingml.document
                                                     docx;
    application/vnd.wap.wmlc                         wmlc;
    application/wasm                                 wasm;
    application/x-7z-compressed                      7z;
    application/x-cocoa                              cco;
    application/x-java-archive-diff                  jardiff;
    application/x-java-jnlp-file                     jnlp;
    application/x-makeself                           run;
    application/x-perl                               pl pm;
    application/x-pilot                              prc pdb;
    application/x-rar-compressed                     rar;
    application/x-redhat-package-manager             rpm;
    application/x-sea                                sea;
    application/x-shockwave-flash                    swf;
    application/x-stuffit                            sit;
    application/x-tcl                                tcl tk;
    application/x-x509-ca-cert                       der pem crt;
    application/x-xpinstall                          xpi;
    application/xhtml+xml                            xhtml;
    application/xspf+xml                             xspf;
    application/zip                                  zip;

    application/octet-stream                         bin exe dll;
    application/octet-stream                         deb;
    application/octet-stream                         dmg;
    application/octet-stream                         iso img;
    application/octet-stream                         msi msp msm;

    audio/midi                                       mid midi kar;
    audio/mpeg                                       mp3;
    audio/ogg                                        ogg;
    audio/x-m4a                                      m4a;
    audio/x-realaudio                                ra;

    video/3gpp                                       3gpp 3gp;
    video/mp2t                                       ts;
    video/mp4                                        mp4;
    video/mpeg                                       mpeg mpg;
    video/quicktime                                  mov;
    video/webm                                       webm;
    video/x-flv                                      flv;
    video/x-m4v                                      m4v;
    video/x-mng                                      mng;
    video/x-ms-asf                                   asx asf;
    video/x-ms-wmv                                   wmv;
    video/x-msvideo                                  avi;
}
"""

_ENTRYPOINT_SCRIPTS = ("10-listen-on-ipv6-by-default.sh", "15-local-resolvers.envsh", "20-envsubst-on-templates.sh",
                       "30-tune-worker-processes.sh")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3]) or (999,)


def _nginx_debian(version: str) -> str:
    """The Debian release an nginx line of the official image is built on (nginx/docker-nginx)."""
    v = _version(version)
    if v >= (1, 29, 1):
        return "trixie"
    if v >= (1, 25, 1):
        return "bookworm"
    if v >= (1, 21, 1):
        return "bullseye"
    if v >= (1, 15, 9):
        return "buster"
    if v >= (1, 13, 1):
        return "stretch"
    return "jessie"


def _nginx_files(image: images.Image) -> dict[str, str]:
    version = image.version or "1.29.3"
    v = _version(version)
    entrypoint = v >= (1, 19)         # /docker-entrypoint.sh and docker-entrypoint.d arrived in 1.19
    files = {
        "/etc/nginx/nginx.conf": _NGINX_CONF.replace("{level}", "notice" if entrypoint else "warn")
        .replace("{pid}", "/run/nginx.pid" if v >= (1, 27, 4) else "/var/run/nginx.pid"),
        "/etc/nginx/conf.d/default.conf": _NGINX_DEFAULT_CONF.replace(
            "{ipv6}", "    listen  [::]:80;\n" if entrypoint else ""),
        "/etc/nginx/fastcgi_params": _FASTCGI_PARAMS, "/etc/nginx/scgi_params": _SCGI_PARAMS,
        "/etc/nginx/uwsgi_params": _UWSGI_PARAMS, "/etc/nginx/mime.types": _MIME_TYPES,
        images.NGINX_ROOT + "/index.html": images.nginx_welcome(version),
        images.NGINX_ROOT + "/50x.html": images.nginx_50x(version),
        # ln -sf /dev/stdout /var/log/nginx/access.log (and stderr for error.log): reading them gives nothing
        "/var/log/nginx/access.log": "", "/var/log/nginx/error.log": "",
        "/usr/sbin/nginx": _ELF,
    }
    if entrypoint:
        files["/docker-entrypoint.sh"] = "#!/bin/sh\n# vim:sw=4:ts=4:et\n\nset -e\n"
        for script in _ENTRYPOINT_SCRIPTS:
            files[f"/docker-entrypoint.d/{script}"] = "#!/bin/sh\n# vim:sw=4:ts=4:et\n\nset -e\n"
    return files


# ----------------------------------------------------------------------------- the bases
def _base(image: images.Image) -> str:
    """Which OS an image is built on: "busybox", "alpine", "debian", "ubuntu", "other" or "scratch"."""
    binaries = image.binaries
    if image.shell is None:
        return "scratch"
    if image.kind == "busybox" or ("busybox" in binaries and "apk" not in binaries and image.kind not in (
            "agnhost", "hello-app", "curl", "socat", "bash", "stress", "netshoot", "dnsutils")):
        return "busybox"
    if "ash" in binaries:
        return "alpine"
    if image.kind == "ubuntu" or image.kind in ("mongo", "zookeeper"):
        return "ubuntu"
    if image.kind in ("fedora", "mysql"):
        return "other"
    return "debian"


def _debian_release(image: images.Image) -> str:
    if image.kind == "nginx" and image.ref.repository == "library/nginx":
        return _nginx_debian(image.version or "1.29.3")
    tag = image.ref.tag or "latest"
    for codename in _DEBIAN:
        if codename in tag:
            return codename
    if image.kind == "debian":
        number = tag.split(".")[0]
        if number in _DEBIAN_BY_NUMBER:
            return _DEBIAN_BY_NUMBER[number]
        return "trixie" if tag in ("latest", "stable", "trixie") else "bookworm"
    if image.kind == "nginx":
        return "jessie"                  # the tutorials' old nginx builds (nginx-slim, nginxhttps)
    return "bookworm"


def _alpine_version(image: images.Image) -> str:
    if image.kind == "alpine":
        tag = image.ref.tag or "latest"
        if re.fullmatch(r"3\.\d+\.\d+", tag):
            return tag
        if re.fullmatch(r"3\.\d+", tag):
            return f"{tag}.0"
    return _ALPINE


# Where an image's own programs live (the base's tools go to /bin or /usr/bin).
_PROGRAM_DIRS = {"nginx": "/usr/sbin", "nginx-debug": "/usr/sbin", "httpd": "/usr/local/apache2/bin",
                 "httpd-foreground": "/usr/local/bin", "apachectl": "/usr/local/apache2/bin",
                 "apache2": "/usr/sbin", "apache2-foreground": "/usr/local/bin", "busybox": "/bin",
                 "apt": "/usr/bin", "apt-get": "/usr/bin", "apk": "/sbin", "python": "/usr/local/bin",
                 "python3": "/usr/local/bin", "pip": "/usr/local/bin", "pip3": "/usr/local/bin",
                 "node": "/usr/local/bin", "npm": "/usr/local/bin", "npx": "/usr/local/bin",
                 "go": "/usr/local/go/bin", "gofmt": "/usr/local/go/bin", "mysqld": "/usr/sbin",
                 "mongod": "/usr/bin", "mongosh": "/usr/bin", "curl": "/usr/bin", "wget": "/usr/bin"}
_WORKDIRS = {"redis": "/data", "httpd": "/usr/local/apache2", "php-apache": "/var/www/html",
             "hpa-example": "/var/www/html", "wordpress": "/var/www/html", "gb-frontend": "/var/www/html",
             "golang": "/go", "php-fpm": "/var/www/html", "cassandra": "/", "xtrabackup": "/"}


def _tree(image: images.Image) -> Tree:
    base = _base(image)
    files: dict[str, str] = {}
    dirs: set[str] = {"/dev", "/proc", "/sys", "/etc", "/root", "/tmp"}
    aliases: dict[str, str] = {}
    tools_dir = "/bin"
    if base == "busybox":
        dirs |= {"/bin", "/home", "/lib", "/lib64", "/usr/sbin", "/var/spool/mail", "/var/www"}
        files["/etc/passwd"] = _PASSWD_BUSYBOX
        files["/etc/group"] = ("root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\n"
                               "wheel:x:10:root\nmail:x:12:\nwww-data:x:33:\nusers:x:100:\nnogroup:x:65534:\n")
    elif base == "alpine":
        version = _alpine_version(image)
        dirs |= {"/bin", "/home", "/lib", "/media", "/mnt", "/opt", "/run", "/sbin", "/srv", "/usr/bin",
                 "/usr/lib", "/usr/local/bin", "/usr/sbin", "/usr/share", "/var/cache", "/var/lib", "/var/log",
                 "/var/tmp", "/etc/apk"}
        files["/etc/os-release"] = _os_release_alpine(version)
        files["/etc/alpine-release"] = version + "\n"
        files["/etc/passwd"] = _PASSWD_ALPINE
    elif base in ("debian", "ubuntu", "other"):
        # merged /usr: /bin, /sbin and /lib are links into /usr
        dirs |= {"/boot", "/home", "/media", "/mnt", "/opt", "/run", "/srv", "/usr/bin", "/usr/sbin", "/usr/lib",
                 "/usr/local/bin", "/usr/share", "/var/cache", "/var/lib", "/var/log", "/var/tmp", "/var/mail"}
        aliases = {"/bin": "/usr/bin", "/sbin": "/usr/sbin", "/lib": "/usr/lib", "/lib64": "/usr/lib64"}
        dirs.add("/usr/lib64")
        tools_dir = "/usr/bin"
        files["/etc/passwd"] = _PASSWD_DEBIAN
        if base == "debian":
            codename = _debian_release(image)
            files["/etc/os-release"] = _os_release_debian(codename)
            files["/etc/debian_version"] = _DEBIAN[codename][1] + "\n"
        elif base == "ubuntu":
            files["/etc/os-release"] = _OS_RELEASE_UBUNTU
            files["/etc/debian_version"] = "trixie/sid\n"
    else:                                 # scratch / distroless: only the program
        dirs = {"/dev", "/proc", "/sys", "/etc"}
    program = image.default_argv[0] if image.default_argv else ""
    for binary in sorted(image.binaries):
        if "/" in binary:                 # named by its path (hello-frontend's /usr/sbin/nginx)
            files[binary] = _ELF
        elif base == "scratch":           # the one program, where the image's ENTRYPOINT names it
            files[program if program.endswith("/" + binary) else f"/{binary}"] = _ELF
        elif binary == "[[":              # a shell keyword in busybox, no file
            continue
        else:
            where = _PROGRAM_DIRS.get(binary)
            if where is None or (base in ("busybox", "alpine") and where == "/usr/bin"):
                where = tools_dir if binary in _BASE_TOOLS else "/usr/local/bin"
            files.setdefault(f"{where}/{binary}", _ELF)
    workdir = _WORKDIRS.get(image.kind, "/")
    if image.kind == "nginx" or image.kind == "hello-frontend":
        files.update(_nginx_files(image))
        dirs |= {"/etc/nginx/modules", "/var/cache/nginx"}
    elif image.kind == "httpd":
        files[images.HTTPD_ROOT + "/index.html"] = images.HTTPD_INDEX
        dirs |= {"/usr/local/apache2/" + d for d in ("bin", "build", "cgi-bin", "conf", "error", "icons",
                                                     "include", "logs", "modules")}
    elif image.kind == "redis":
        dirs.add("/data")
        files["/usr/local/bin/docker-entrypoint.sh"] = "#!/bin/sh\nset -e\n"
    elif image.kind in ("php-apache", "hpa-example", "wordpress", "gb-frontend"):
        dirs.add("/var/www/html")
    dirs.add(workdir)
    return Tree.build(files, dirs, aliases, workdir)


_BASE_TOOLS = images._BUSYBOX | images._COREUTILS | images._PROCPS
_TREES: dict[tuple, Tree] = {}
_TREES_MAX = 512


def image_tree(image: images.Image) -> Tree:
    """The image's file system layer, built once per image (repository, tag and model) and shared."""
    key = (str(image.ref), image.kind, image.version, image.binaries)
    tree = _TREES.get(key)
    if tree is None:
        if len(_TREES) >= _TREES_MAX:
            _TREES.clear()
        tree = _TREES[key] = _tree(image)
    return tree


__all__ = ["image_tree"]
