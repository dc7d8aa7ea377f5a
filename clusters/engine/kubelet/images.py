"""The catalog of simulated container images.

No container runs in the playground, so every image a tutorial uses is a small
model here: how big it is (the kubelet's 'Successfully pulled image … Image
size: N bytes.' event and the pull delay), what its ENTRYPOINT/CMD do when a
pod gives no `command` (serve HTTP on 80, listen on 6379, exit 0 at once, …),
which binaries exist for `kubectl exec` and for shell scripts in `command`,
the first log lines the real program prints, and what it answers to an HTTP
GET (for probes, Services and `wget` loops).

Pure standard library (the engine imports nothing from Django).

Sources for the wording, so learners see what a real cluster prints:
* image reference grammar and errors: github.com/distribution/reference
  (regexp.go, normalize.go ParseNormalizedNamed/splitDockerDomain), used by
  the kubelet's applyDefaultImageTag (pkg/kubelet/images/image_manager.go):
  'Failed to apply default image tag "X": couldn't parse image name "X":
  invalid reference format', reason InvalidImageName.
* pull errors: containerd 2.1+ pulls through the transfer service, so the CRI
  wraps 'failed to pull and unpack image %q: failed to resolve image: …'
  (not the 1.x/2.0 'failed to resolve reference %q: …'); the kubelet's CRI
  client strips 'rpc error: code = Unknown desc = ' but keeps other codes.
  Seen verbatim in real `kubectl describe` output, e.g.
  'Failed to pull image "nginx:brokenpod": rpc error: code = NotFound desc =
  failed to pull and unpack image "docker.io/library/nginx:brokenpod": failed
  to resolve image: docker.io/library/nginx:brokenpod: not found' and
  'Failed to pull image "wazuh/wazuh-certs-tool:4.7.2": failed to pull and
  unpack image "docker.io/wazuh/wazuh-certs-tool:4.7.2": failed to resolve
  image: pull access denied, repository does not exist or may require
  authorization: server message: insufficient_scope: authorization failed'.
  The project's nodes report containerd://2.1.4 (clusters/apiserver/bootstrap.py).
* program behaviour: kubernetes/kubernetes test/images/agnhost (liveness,
  netexec), docker-library entrypoints (mysql 8.4 docker_verify_minimum_env,
  postgres docker_verify_minimum_env), nginx/httpd default pages.
* which images: every `image:` of kubernetes/website content/en/examples/** (the list is in
  tests/engine/test_images.py WEBSITE_EXAMPLE_IMAGES), e.g. the Job tutorial's perl:5.34.0, whose
  modelled program is `perl -Mbignum=bpi -wle 'print bpi(2000)'` (pi computed here exactly).
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

# ====================================================================== references

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

# distribution/reference regexp.go, piece by piece, so the grammar matches upstream exactly.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_AND_PORT = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$", re.ASCII)
_ANCHORED_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class ImageRef:
    """A normalised image reference, as containerd names it ('docker.io/library/nginx:latest')."""
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """registry/repository: the key of the catalog and of the pull-error messages."""
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        # The CRI pulls "nginx" as docker.io/library/nginx:latest; a digest keeps its tag if given.
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _invalid(image: str, why: str = "invalid reference format") -> ValueError:
    # kubelet applyDefaultImageTag → parsers.ParseImageName: both wrappers appear in the event message.
    return ValueError(f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": {why}')


def _split_docker_domain(name: str) -> tuple[str, str]:
    """normalize.go splitDockerDomain: the first component is a registry only if it looks like a host."""
    i = name.find("/")
    first = name[:i]
    if i == -1 or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[i + 1:]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_image(image: str) -> ImageRef:
    """Normalise like containerd/docker; ValueError with the kubelet's InvalidImageName message."""
    if _ANCHORED_IDENTIFIER_RE.match(image):
        raise _invalid(image, f"invalid repository name ({image}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_docker_domain(image)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise _invalid(image, f"invalid reference format: repository name ({remote}) must be lowercase")
    match = _REFERENCE_RE.match(f"{domain}/{remainder}")
    if match is None:
        if image == "":
            raise _invalid(image, "repository name must have at least one component")
        raise _invalid(image)
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise _invalid(image, f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    if digest is not None:
        algorithm, _, hex_part = digest.partition(":")
        if algorithm not in _DIGEST_HEX_LENGTH:
            raise _invalid(image, "unsupported digest algorithm")
        if len(hex_part) != _DIGEST_HEX_LENGTH[algorithm]:
            raise _invalid(image, "invalid checksum digest length")
        if not re.fullmatch(r"[a-f0-9]+", hex_part):
            raise _invalid(image, "invalid checksum digest format")
    registry, _, repository = name.partition("/")
    if tag is None and digest is None:
        tag = DEFAULT_TAG  # kubelet applyDefaultImageTag / containerd TagNameOnly
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)


# ====================================================================== pull errors


@dataclass(frozen=True)
class PullError:
    """Why the kubelet cannot get an image.

    reason: the container's waiting reason ('ErrImagePull' or 'InvalidImageName').
    message: the kubelet's Warning event text ('Failed to pull image "X": …').
    error: what goes into containerStatuses[].state.waiting.message (the CRI error alone;
    the kubelet's evalCRIPullErr falls back to err.Error()).
    """
    reason: str
    message: str
    error: str = ""


# Registries whose repositories are public: an unknown repository or tag is a plain 404
# ('not found'). Docker Hub and unknown private registries answer 401 insufficient_scope instead,
# which containerd reports as 'pull access denied …'.
_PUBLIC_404_REGISTRIES = ("registry.k8s.io", "k8s.gcr.io", "us-docker.pkg.dev", "quay.io", "ghcr.io")
_GCR_PUBLIC_PROJECTS = ("google-samples", "google-containers", "google_containers", "distroless", "k8s-artifacts-prod")


def _pull_error(image: str, ref: ImageRef, known_repo: bool) -> PullError:
    full = str(ref)
    if known_repo or ref.registry in _PUBLIC_404_REGISTRIES or (
            ref.registry == "gcr.io" and ref.repository.split("/")[0] in _GCR_PUBLIC_PROJECTS):
        # gRPC NotFound survives the kubelet's CRI client (only code Unknown is stripped).
        cri = (f"rpc error: code = NotFound desc = failed to pull and unpack image \"{full}\": "
               f"failed to resolve image: {full}: not found")
    elif ref.registry == "gcr.io":
        # gcr.io (now Artifact Registry) refuses an anonymous token for a project that is not public.
        scope = ref.repository.replace("/", "%2F")
        cri = (f"failed to pull and unpack image \"{full}\": failed to resolve image: failed to authorize: "
               f"failed to fetch anonymous token: unexpected status from GET request to "
               f"https://gcr.io/v2/token?scope=repository%3A{scope}%3Apull&service=gcr.io: 401 Unauthorized")
    else:
        cri = (f"failed to pull and unpack image \"{full}\": failed to resolve image: pull access denied, "
               f"repository does not exist or may require authorization: server message: "
               f"insufficient_scope: authorization failed")
    return PullError(reason="ErrImagePull", message=f'Failed to pull image "{image}": {cri}', error=cri)


# ====================================================================== images


@dataclass(frozen=True)
class Image:
    """One pullable image (a repository at one tag) and the program it runs."""
    ref: ImageRef
    size_bytes: int                       # compressed size containerd reports ('Image size: N bytes.')
    pull_seconds: float                   # first pull on a node
    start_seconds: float                  # container start → ready to serve
    shell: str | None                     # "/bin/sh" or None (distroless / scratch)
    binaries: frozenset[str]              # commands `kubectl exec` and shell scripts can run
    default_argv: list[str]               # ENTRYPOINT + CMD
    behaviour: str                        # "server" | "exit" | "shell"
    ports: tuple[tuple[int, str], ...]    # what the default program listens on
    memory_bytes: int                     # resident at idle
    cpu_millis_idle: int
    cpu_millis_per_request: float         # CPU-milliseconds one HTTP request costs
    env_required: tuple[str, ...] = ()    # any one of these must be set and non-empty, else exit 1
    startup_logs: tuple[str, ...] = ()    # templates, see render_logs()
    entrypoint: tuple[str, ...] = ()      # ENTRYPOINT alone: `args` in a pod replaces only CMD
    exit_code: int = 0                    # for behaviour "exit": how the default program ends
    env_error_logs: tuple[str, ...] = ()  # what it prints when env_required is not met
    kind: str = ""                        # which program model answers HTTP (see http_response)
    version: str = ""                     # upstream version the tag stands for, for banners/pages
    # What an interactive shell of the image sets when it starts (the exports of the file its $ENV names):
    # radial/busyboxplus's .bashrc exports a PS1 of its own, the prompt its tutorials show.
    shell_env: tuple[tuple[str, str], ...] = ()

    @property
    def cmd(self) -> list[str]:
        return self.default_argv[len(self.entrypoint):]


def effective_argv(image: Image, command: list[str] | None, args: list[str] | None) -> list[str]:
    """Kubernetes' rule: `command` replaces ENTRYPOINT (and drops CMD), `args` replaces CMD."""
    if command:
        return list(command) + list(args or [])
    if args:
        return list(image.entrypoint) + list(args)
    return list(image.default_argv)


def program_args(image: Image, command: list[str] | None, args: list[str] | None) -> list[str] | None:
    """The arguments the image's own program gets, or None when the pod runs something else.

    A pod that runs the image's program itself (agnhost with args ['liveness'], or
    command ['nginx', '-g', 'daemon off;']) still gets the image's server behaviour; anything else
    is a script for the shell interpreter."""
    argv = effective_argv(image, command, args)
    if not argv:
        return None
    if image.kind in _SHELL_WRAPPED_KINDS:
        argv = _unwrap_shell(argv) or argv
    if image.kind == "perl":
        # The perl model knows one program: the Job tutorial's pi. Any other script is left to the shell model.
        if argv == image.default_argv:
            return []
        if argv[0].rsplit("/", 1)[-1].startswith("perl") and _perl_pi_args(argv[1:]):
            return argv[1:]
        return None
    own = _OWN_PROGRAMS.get(image.kind, ())
    first = argv[0].rsplit("/", 1)[-1]
    if image.entrypoint and argv[:len(image.entrypoint)] == list(image.entrypoint):
        return argv[len(image.entrypoint):]
    if argv == image.default_argv or first in own:
        return argv[1:]
    return None


# Kinds whose tutorials start the program through `sh -c "start-zookeeper --servers=3 …"`.
_SHELL_WRAPPED_KINDS = frozenset({"zookeeper", "perl", "cassandra", "node-hello"})


def _unwrap_shell(argv: list[str]) -> list[str] | None:
    """["sh", "-c", "exec start-zookeeper --servers=3"] → ["start-zookeeper", "--servers=3"]: a script that
    is one plain command (no expansions, redirections, pipes or lists) runs that command."""
    if len(argv) != 3 or argv[0].rsplit("/", 1)[-1] not in ("sh", "bash", "ash", "dash") or argv[1] != "-c":
        return None
    script = argv[2].strip()
    if any(c in script for c in "`$\n"):
        return None
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:
        return None
    if any(word and all(c in "();<>|&" for c in word) for word in words):
        return None  # a list, pipe, redirection or subshell: the shell model runs it
    if words[:1] == ["exec"]:
        words = words[1:]
    return words or None


def run_mode(image: Image, command: list[str] | None = None, args: list[str] | None = None) -> str:
    """'server', 'exit' or 'shell': what the container does with this command/args."""
    rest = program_args(image, command, args)
    if rest is None:
        return "shell"
    if image.kind == "agnhost":
        return "server" if _agnhost_ports(rest) or (rest[:1] == ["pause"]) else "exit"
    return image.behaviour


def missing_env(image: Image, env: Mapping[str, str]) -> tuple[str, ...] | None:
    """The log lines (templates) and implied exit 1 when a required variable is missing, else None."""
    if not image.env_required:
        return None
    if any(env.get(name) for name in image.env_required):
        return None
    if image.kind == "postgres" and env.get("POSTGRES_HOST_AUTH_METHOD") == "trust":
        return None
    return image.env_error_logs


_STAMPS: dict[str, Callable[[datetime], str]] = {
    "rfc3339": lambda t: t.strftime("%Y-%m-%d %H:%M:%S+00:00"),  # bash `date --rfc-3339=seconds` (mysql entrypoint)
    "nginx": lambda t: t.strftime("%Y/%m/%d %H:%M:%S"),
    "redis": lambda t: t.strftime("%d %b %Y %H:%M:%S.") + f"{t.microsecond // 1000:03d}",
    "pg": lambda t: t.strftime("%Y-%m-%d %H:%M:%S.") + f"{(t + timedelta(milliseconds=3)).microsecond // 1000:03d} UTC",
    "iso": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    "mongo": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+00:00",
    "apache": lambda t: t.strftime("%a %b %d %H:%M:%S.%f %Y"),
    "fluent": lambda t: t.strftime("%Y-%m-%d %H:%M:%S +0000"),
    "go": lambda t: t.strftime("%Y/%m/%d %H:%M:%S"),
}


class _Stamps(dict):
    """The placeholders' values, each formatted when a line first asks for it (a program's logs use one)."""

    def __init__(self, t: datetime, hostname: str) -> None:
        super().__init__(hostname=hostname)
        self.t = t

    def __missing__(self, key: str) -> str:
        value = self[key] = _STAMPS[key](self.t)
        return value


def render_logs(lines: Iterable[str], started: datetime, hostname: str = "") -> list[str]:
    """Fill the timestamp placeholders the templates use, in each program's own format."""
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    stamps = _Stamps(started.astimezone(UTC), hostname)
    return [line.format_map(stamps) for line in lines]


# ---------------------------------------------------------------------- binaries

_BUSYBOX = frozenset("""
sh ash [ [[ arch awk base64 basename bc cal cat chgrp chmod chown chroot cksum clear cmp cp crond cut date dc dd
df diff dirname dmesg dnsdomainname du echo ed egrep env expand expr false fgrep find fold free fsync getopt grep
gunzip gzip head hexdump hostid hostname id ifconfig install ip ipcalc kill killall less link ln logger login
ls lsof md5sum mkdir mkfifo mknod mktemp more mount mv nc netstat nice nl nohup nproc nslookup od passwd paste
pgrep pidof ping ping6 pkill printenv printf ps pwd readlink realpath renice reset rev rm rmdir route sed seq
sha1sum sha256sum sha512sum sleep sort split stat strings stty su sum sync tac tail tar tee telnet test time
timeout top touch tr traceroute true truncate tty udhcpc umount uname uniq unlink unzip uptime usleep uudecode
uuencode vi watch wc wget which whoami xargs yes zcat
""".split())
# Debian/Ubuntu base: coreutils, bash, grep, sed, findutils, apt … but no wget, curl, ping or (Debian) ps.
_COREUTILS = frozenset("""
sh bash dash [ arch b2sum base32 base64 basename cat chgrp chmod chown chroot cksum comm cp csplit cut date dd df
dir dircolors dirname du echo env expand expr factor false fmt fold groups head hostid hostname id install join
link ln logname ls md5sum mkdir mkfifo mknod mktemp mv nice nl nohup nproc numfmt od paste pathchk pinky pr
printenv printf ptx pwd readlink realpath rm rmdir runcon seq sha1sum sha224sum sha256sum sha384sum sha512sum
shred shuf sleep sort split stat stdbuf stty sum sync tac tail tee test timeout touch tr true truncate tsort tty
uname unexpand uniq unlink users vdir wc who whoami yes grep egrep fgrep sed find xargs gzip gunzip zcat tar
mount umount su login getent ldd which mawk awk more kill apt apt-get apt-cache dpkg
""".split())
_PROCPS = frozenset({"ps", "top", "free", "pgrep", "pkill", "uptime", "watch", "kill"})
_BUILDPACK = _COREUTILS | _PROCPS | {"curl", "wget", "git", "ssh", "gcc", "make", "perl", "openssl"}


# ---------------------------------------------------------------------- tag grammar per repository


def _versions(spec: Mapping[str, int]) -> set[str]:
    """{'1.27': 5} → {'1.27', '1.27.0' … '1.27.5'}."""
    out: set[str] = set()
    for minor, last in spec.items():
        out.add(minor)
        out.update(f"{minor}.{p}" for p in range(last + 1))
    return out


def _with_variants(base: Iterable[str], variants: Iterable[str]) -> set[str]:
    base = set(base)
    return base | {f"{b}-{v}" for b in base for v in variants} | set(variants)


_NGINX_MINORS = {"1.7": 12, "1.8": 1, "1.9": 15, "1.10": 3, "1.11": 13, "1.12": 2, "1.13": 12, "1.14": 2,
                 "1.15": 12, "1.16": 1, "1.17": 10, "1.18": 0, "1.19": 10, "1.20": 2, "1.21": 6, "1.22": 1,
                 "1.23": 4, "1.24": 0, "1.25": 5, "1.26": 3, "1.27": 5, "1.28": 0, "1.29": 3}
_NGINX_TAGS = _with_variants(_versions(_NGINX_MINORS) | {"1", "stable", "mainline"},
                             ["alpine", "perl", "alpine-slim", "alpine-perl", "bookworm", "bookworm-perl",
                              "otel", "alpine-otel"]) | {"latest"}
_NGINX_LATEST, _NGINX_STABLE = "1.29.3", "1.28.0"

_HTTPD_TAGS = _with_variants(_versions({"2.4": 65, "2.2": 34}) | {"2"},
                             ["alpine", "bookworm", "alpine3.22"]) | {"latest"}
_REDIS_MINORS = {"2.8": 23, "3.0": 7, "3.2": 12, "4.0": 14, "5.0": 14, "6.0": 20, "6.2": 20, "7.0": 15, "7.2": 11,
                 "7.4": 6, "8.0": 4, "8.2": 2}
_REDIS_TAGS = _with_variants(_versions(_REDIS_MINORS) | {"2", "3", "4", "5", "6", "7", "8"},
                             ["alpine", "bookworm", "bullseye", "buster", "32bit"]) | {"latest"}
_MYSQL_TAGS = _with_variants(_versions({"5.5": 62, "5.6": 51, "5.7": 44, "8.0": 44, "8.1": 0, "8.2": 0, "8.3": 0,
                                        "8.4": 7, "9.0": 1, "9.1": 0, "9.2": 0, "9.3": 0, "9.4": 0, "9.5": 0})
                             | {"5", "8", "9", "lts", "innovation"},
                             ["oracle", "oraclelinux9", "debian", "bookworm"]) | {"latest"}
_POSTGRES_TAGS = _with_variants(
    _versions({"9.6": 24, "10": 23, "11": 22, "12": 22, "13": 22, "14": 19, "15": 14, "16": 10, "17": 6, "18": 0})
    - {"10.0", "11.0", "12.0", "13.0", "14.0", "15.0", "16.0", "17.0", "18.0"},
    ["alpine", "bookworm", "bullseye", "trixie", "alpine3.21", "alpine3.22"]) | {"latest"}
_MONGO_TAGS = _with_variants(_versions({"3.6": 23, "4.0": 28, "4.2": 24, "4.4": 29, "5.0": 31, "6.0": 26, "7.0": 25,
                                        "8.0": 16}) | {"4", "5", "6", "7", "8"},
                             ["jammy", "noble", "focal"]) | {"latest"}
_BUSYBOX_TAGS = _with_variants(_versions({f"1.{m}": 4 for m in range(21, 38)}) | {"stable", "unstable"},
                               ["musl", "glibc", "uclibc"]) | {"latest"}
_ALPINE_TAGS = _versions({f"3.{m}": 6 for m in range(1, 23)}) | {"3", "latest", "edge"}
_UBUNTU_TAGS = {"14.04", "16.04", "18.04", "20.04", "22.04", "24.04", "24.10", "25.04", "25.10", "trusty", "xenial",
                "bionic", "focal", "jammy", "noble", "oracular", "plucky", "questing", "latest", "rolling", "devel"}
_DEBIAN_TAGS = _with_variants(
    _versions({str(v): 11 for v in range(8, 14)}) | {"jessie", "stretch", "buster", "bullseye", "bookworm", "trixie",
                                                     "sid", "stable", "testing", "unstable", "oldstable"},
    ["slim"]) | {"latest"}
_PYTHON_TAGS = _with_variants(_versions({"2.7": 18, **{f"3.{m}": 12 for m in range(5, 15)}}) | {"2", "3"},
                              ["slim", "alpine", "bookworm", "slim-bookworm", "bullseye", "slim-bullseye", "trixie",
                               "slim-trixie", "alpine3.21", "alpine3.22"]) | {"latest"}
_NODE_TAGS = _with_variants({str(m) for m in range(4, 26)} | {f"{m}.{n}" for m in range(10, 26) for n in range(0, 21)}
                            | {f"{m}.{n}.{p}" for m in range(10, 26) for n in range(0, 21) for p in range(0, 8)}
                            | {"lts", "current", "hydrogen", "iron", "jod", "krypton"},
                            ["alpine", "slim", "bookworm", "bookworm-slim", "bullseye", "bullseye-slim",
                             "alpine3.21", "alpine3.22"]) | {"latest"}
_GOLANG_TAGS = _with_variants(_versions({f"1.{m}": 12 for m in range(10, 26)}) | {"1"},
                              ["alpine", "bookworm", "bullseye", "trixie", "alpine3.21", "alpine3.22"]) | {"latest"}
_WORDPRESS_TAGS = _with_variants(_versions({"5.9": 10, "6.0": 9, "6.1": 7, "6.2": 6, "6.3": 5, "6.4": 5, "6.5": 5,
                                            "6.6": 2, "6.7": 2, "6.8": 3}) | {"6", "5"},
                                 ["apache", "fpm", "fpm-alpine", "php8.1", "php8.2", "php8.3", "php8.1-apache",
                                  "php8.2-apache", "php8.3-apache", "php8.2-fpm", "php8.3-fpm"]) | {"latest", "cli"}
_PHP_TAGS = _with_variants(_versions({"5.6": 40, "7.0": 33, "7.1": 33, "7.2": 34, "7.3": 33, "7.4": 33, "8.0": 30,
                                      "8.1": 33, "8.2": 29, "8.3": 27, "8.4": 14}) | {"5", "7", "8"},
                           ["apache", "fpm", "cli", "zts", "alpine", "fpm-alpine", "cli-alpine", "apache-bookworm",
                            "fpm-bookworm", "cli-bookworm"]) | {"latest"}
_AGNHOST_TAGS = {f"2.{m}" for m in range(1, 58)}
_CURL_TAGS = {f"8.{m}.{p}" for m in range(0, 19) for p in range(0, 2)} | {f"7.{m}.{p}" for m in range(70, 89)
                                                                         for p in range(0, 2)} | {"latest"}
_NETSHOOT_TAGS = {f"v0.{m}" for m in range(1, 15)} | {"latest"}
_PERL_TAGS = _with_variants(_versions({"5.30": 3, "5.32": 1, "5.34": 3, "5.36": 3, "5.38": 4, "5.40": 2, "5.42": 0})
                            | {"5", "stable"}, ["slim", "threaded", "slim-threaded", "bookworm", "bullseye", "buster",
                                                "slim-bookworm", "slim-bullseye", "slim-buster"]) | {"latest"}
_MEMCACHED_TAGS = _with_variants(_versions({"1.5": 22, "1.6": 39}) | {"1"}, ["alpine", "bookworm"]) | {"latest"}
_RABBITMQ_TAGS = _with_variants(_versions({"3.8": 34, "3.9": 29, "3.10": 25, "3.11": 28, "3.12": 14, "3.13": 7,
                                           "4.0": 9, "4.1": 4}) | {"3", "4"},
                                ["management", "alpine", "management-alpine"]) | {"latest"}
_BASH_TAGS = _with_variants(_versions({"4.4": 23, "5.0": 18, "5.1": 16, "5.2": 37, "5.3": 3}) | {"4", "5"},
                            ["alpine3.21", "alpine3.22"]) | {"latest", "devel"}
_FEDORA_TAGS = {str(v) for v in range(35, 44)} | {"latest", "rawhide"}
_ETCD_TAGS = {f"3.{m}.{p}-0" for m in (4, 5, 6) for p in range(0, 25)} | {"3.4.3", "3.5.0", "3.6.0"}
_JESSIE_DNSUTILS_TAGS = {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.7"}


# ---------------------------------------------------------------------- building an Image


def _pull_time(size: int) -> float:
    # ~30 MB/s after ~0.8 s of resolving and unpacking; a real first pull of nginx is ~3 s.
    return round(min(10.0, max(0.4, 0.8 + size / 30e6)), 1)


def _minor(tag: str) -> tuple[int, int]:
    """'1.16.1' → (1, 16); tags that are not versions sort as newest."""
    m = re.match(r"(\d+)(?:\.(\d+))?", tag)
    if not m:
        return (999, 999)
    return (int(m.group(1)), int(m.group(2) or 999))


_MIB = 1024 * 1024


def _image(ref: ImageRef, *, size: int, start: float, shell: str | None, binaries: Iterable[str],
           argv: list[str], behaviour: str, ports: Iterable[tuple[int, str]] = (), memory: int = 4 * _MIB,
           cpu_idle: int = 0, cpu_request: float = 0.2, env_required: tuple[str, ...] = (),
           logs: Iterable[str] = (), entrypoint: tuple[str, ...] = (), exit_code: int = 0,
           env_error_logs: Iterable[str] = (), kind: str = "", version: str = "") -> Image:
    return Image(ref=ref, size_bytes=size, pull_seconds=_pull_time(size), start_seconds=start, shell=shell,
                 binaries=frozenset(binaries), default_argv=list(argv), behaviour=behaviour, ports=tuple(ports),
                 memory_bytes=memory, cpu_millis_idle=cpu_idle, cpu_millis_per_request=cpu_request,
                 env_required=env_required, startup_logs=tuple(logs), entrypoint=tuple(entrypoint),
                 exit_code=exit_code, env_error_logs=tuple(env_error_logs), kind=kind, version=version)


def _nginx_version(tag: str) -> str:
    base = tag.split("-")[0]
    if base in ("latest", "mainline", "alpine", "perl", "1", "bookworm", "otel"):
        return _NGINX_LATEST
    if base == "stable":
        return _NGINX_STABLE
    if base.count(".") == 1:
        return f"{base}.{_NGINX_MINORS[base]}"
    return base


def _nginx(ref: ImageRef, tag: str) -> Image:
    version = _nginx_version(tag)
    alpine = "alpine" in tag
    old = _minor(version) < (1, 19)  # docker-entrypoint.d and the 'notice' error_log arrived in 1.19
    size = (20_500_000 if alpine else 72_099_410) if not old else (8_900_000 if alpine else 44_700_000)
    logs: list[str] = []
    if not old:
        logs = ["/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
                "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
                "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
                "10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf",
                "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
                "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
                "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
                "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
                "/docker-entrypoint.sh: Configuration complete; ready for start up",
                '{nginx} [notice] 1#1: using the "epoll" event method',
                f"{{nginx}} [notice] 1#1: nginx/{version}",
                "{nginx} [notice] 1#1: built by gcc 12.2.0 (Debian 12.2.0-14+deb12u1) " if not alpine
                else "{nginx} [notice] 1#1: built by gcc 14.2.0 (Alpine 14.2.0) ",
                "{nginx} [notice] 1#1: OS: Linux 6.8.0-45-generic",
                "{nginx} [notice] 1#1: getrlimit(RLIMIT_NOFILE): 1048576:1048576",
                "{nginx} [notice] 1#1: start worker processes",
                "{nginx} [notice] 1#1: start worker process 29"]
    binaries = (_BUSYBOX if alpine else _COREUTILS | ({"curl"} if not old else set())) | {"nginx", "nginx-debug"}
    return _image(ref, size=size, start=0.1, shell="/bin/sh", binaries=binaries,
                  argv=(["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"] if not old
                        else ["nginx", "-g", "daemon off;"]),
                  entrypoint=("/docker-entrypoint.sh",) if not old else (), behaviour="server", ports=[(80, "TCP")],
                  memory=5 * _MIB, cpu_idle=0, cpu_request=0.1, logs=logs, kind="nginx", version=version)


def _httpd(ref: ImageRef, tag: str) -> Image:
    alpine = "alpine" in tag
    version = "2.4.65" if not tag.startswith("2.") or tag.count(".") < 2 else tag.split("-")[0]
    logs = ["AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using "
            "{hostname}. Set the 'ServerName' directive globally to suppress this message",
            "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using "
            "{hostname}. Set the 'ServerName' directive globally to suppress this message",
            f"[{{apache}}] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/{version} (Unix) configured -- "
            "resuming normal operations",
            "[{apache}] [core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'"]
    return _image(ref, size=22_800_000 if alpine else 58_300_000, start=0.2, shell="/bin/sh",
                  binaries=(_BUSYBOX if alpine else _COREUTILS) | {"httpd", "httpd-foreground", "apachectl"},
                  argv=["httpd-foreground"], behaviour="server", ports=[(80, "TCP")], memory=8 * _MIB,
                  cpu_request=0.15, logs=logs, kind="httpd", version=version)


def _redis_logs(version: str) -> list[str]:
    ready = "* Ready to accept connections tcp" if _minor(version) >= (7, 2) else "* Ready to accept connections"
    return ["1:C {redis} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
            f"1:C {{redis}} * Redis version={version}, bits=64, commit=00000000, modified=0, pid=1, just started",
            "1:C {redis} # Warning: no config file specified, using the default config. In order to specify a "
            "config file use redis-server /path/to/redis.conf",
            "1:M {redis} * monotonic clock: POSIX clock_gettime",
            "1:M {redis} * Running mode=standalone, port=6379.",
            "1:M {redis} * Server initialized",
            f"1:M {{redis}} {ready}"]


def _redis(ref: ImageRef, tag: str) -> Image:
    base = tag.split("-")[0]
    version = base if base.count(".") == 2 else ("8.2.2" if base in ("latest", "8", "8.2", "alpine", "bookworm")
                                                  else f"{base}.{_REDIS_MINORS.get(base, 0)}" if "." in base
                                                  else "7.4.6")
    alpine = "alpine" in tag
    return _image(ref, size=17_200_000 if alpine else (38_000_000 if _minor(version) < (7, 0) else 45_600_000),
                  start=0.1, shell="/bin/sh",
                  binaries=(_BUSYBOX if alpine else _COREUTILS) | {"redis-server", "redis-cli", "redis-benchmark",
                                                                   "redis-sentinel", "docker-entrypoint.sh", "gosu"},
                  argv=["docker-entrypoint.sh", "redis-server"], entrypoint=("docker-entrypoint.sh",),
                  behaviour="server", ports=[(6379, "TCP")], memory=3 * _MIB, cpu_idle=2, logs=_redis_logs(version),
                  kind="redis", version=version)


_MYSQL_ENV_ERROR = (
    "{rfc3339} [ERROR] [Entrypoint]: Database is uninitialized and password option is not specified",
    "    You need to specify one of the following as an environment variable:",
    "    - MYSQL_ROOT_PASSWORD",
    "    - MYSQL_ALLOW_EMPTY_PASSWORD",
    "    - MYSQL_RANDOM_ROOT_PASSWORD",
)


def _mysql(ref: ImageRef, tag: str) -> Image:
    base = tag.split("-")[0]
    version = {"latest": "9.5.0", "9": "9.5.0", "innovation": "9.5.0", "lts": "8.4.7", "8": "8.4.7", "8.4": "8.4.7",
               "8.0": "8.0.44", "5.7": "5.7.44", "5": "5.7.44", "oracle": "9.5.0"}.get(base, base)
    if version.count(".") == 1:
        version += ".0"
    release = f"{version}-1.el9" if _minor(version) >= (8, 0) else f"{version}-1.el7"
    started = [f"{{rfc3339}} [Note] [Entrypoint]: Entrypoint script for MySQL Server {release} started.",
               "{rfc3339} [Note] [Entrypoint]: Switching to dedicated user 'mysql'",
               f"{{rfc3339}} [Note] [Entrypoint]: Entrypoint script for MySQL Server {release} started."]
    logs = started + ["{rfc3339} [Note] [Entrypoint]: Initializing database files",
                      "{rfc3339} [Note] [Entrypoint]: Database files initialized",
                      "{rfc3339} [Note] [Entrypoint]: Starting temporary server",
                      "{rfc3339} [Note] [Entrypoint]: Temporary server started.",
                      "{rfc3339} [Note] [Entrypoint]: Stopping temporary server",
                      "{rfc3339} [Note] [Entrypoint]: Temporary server stopped",
                      "",
                      "{rfc3339} [Note] [Entrypoint]: MySQL init process done. Ready for start up.",
                      "",
                      "{iso} 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. Version: "
                      f"'{version}'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL."]
    return _image(ref, size=170_400_000 if _minor(version) >= (8, 0) else 137_900_000, start=18.0, shell="/bin/sh",
                  binaries=_COREUTILS | {"mysql", "mysqld", "mysqladmin", "mysqldump", "mysqlsh", "microdnf",
                                         "docker-entrypoint.sh", "gosu"},
                  argv=["docker-entrypoint.sh", "mysqld"], entrypoint=("docker-entrypoint.sh",), behaviour="server",
                  ports=[(3306, "TCP"), (33060, "TCP")], memory=400 * _MIB, cpu_idle=5,
                  env_required=("MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD"),
                  logs=logs, env_error_logs=tuple(started) + _MYSQL_ENV_ERROR, kind="mysql", version=version)


_POSTGRES_ENV_ERROR = (
    "Error: Database is uninitialized and superuser password is not specified.",
    "       You must specify POSTGRES_PASSWORD to a non-empty value for the",
    '       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".',
    "",
    '       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all',
    "       connections without a password. This is *not* recommended.",
    "",
    '       See PostgreSQL documentation about "trust":',
    "       https://www.postgresql.org/docs/current/auth-trust.html",
)


def _postgres(ref: ImageRef, tag: str) -> Image:
    base = tag.split("-")[0]
    version = {"latest": "18.0", "alpine": "18.0", "bookworm": "18.0", "trixie": "18.0"}.get(base, base)
    if "." not in version:
        version = {"17": "17.6", "16": "16.10", "15": "15.14", "14": "14.19", "13": "13.22", "12": "12.22",
                   "11": "11.22", "10": "10.23"}.get(version, version + ".0")
    alpine = "alpine" in tag
    logs = ['The files belonging to this database system will be owned by user "postgres".',
            "This user must also own the server process.",
            "",
            "Success. You can now start the database server using:",
            "",
            "waiting for server to start....{pg} [48] LOG:  starting PostgreSQL " + version,
            " done",
            "server started",
            "",
            "PostgreSQL init process complete; ready for start up.",
            "",
            "{pg} [1] LOG:  starting PostgreSQL " + version
            + (" on x86_64-pc-linux-musl" if alpine else " (Debian " + version + "-1.pgdg120+1) on x86_64-pc-linux-gnu")
            + ", 64-bit",
            '{pg} [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432',
            '{pg} [1] LOG:  listening on IPv6 address "::", port 5432',
            '{pg} [1] LOG:  listening on Unix socket "/var/run/postgresql/.s.PGSQL.5432"',
            "{pg} [1] LOG:  database system is ready to accept connections"]
    return _image(ref, size=105_000_000 if alpine else 158_000_000, start=3.0, shell="/bin/sh",
                  binaries=(_BUSYBOX if alpine else _COREUTILS) | {"postgres", "psql", "pg_isready", "pg_dump",
                                                                   "initdb", "docker-entrypoint.sh", "gosu"},
                  argv=["docker-entrypoint.sh", "postgres"], entrypoint=("docker-entrypoint.sh",), behaviour="server",
                  ports=[(5432, "TCP")], memory=30 * _MIB, cpu_idle=2, env_required=("POSTGRES_PASSWORD",),
                  logs=logs, env_error_logs=_POSTGRES_ENV_ERROR, kind="postgres", version=version)


def _mongo(ref: ImageRef, tag: str) -> Image:
    logs = ['{{"t":{{"$date":"{mongo}"}},"s":"I",  "c":"CONTROL",  "id":23285,   "ctx":"main","msg":"Automatically '
            'disabling TLS 1.0, to force-enable TLS 1.0 specify --sslDisabledProtocols \'none\'"}}',
            '{{"t":{{"$date":"{mongo}"}},"s":"I",  "c":"NETWORK",  "id":23015,   "ctx":"listener","msg":"Listening on",'
            '"attr":{{"address":"0.0.0.0"}}}}',
            '{{"t":{{"$date":"{mongo}"}},"s":"I",  "c":"NETWORK",  "id":23016,   "ctx":"listener","msg":"Waiting for '
            'connections","attr":{{"port":27017,"ssl":"off"}}}}']
    return _image(ref, size=272_000_000, start=2.0, shell="/bin/sh",
                  binaries=_COREUTILS | _PROCPS | {"mongod", "mongosh", "mongos", "docker-entrypoint.sh", "gosu"},
                  argv=["docker-entrypoint.sh", "mongod"], entrypoint=("docker-entrypoint.sh",), behaviour="server",
                  ports=[(27017, "TCP")], memory=80 * _MIB, cpu_idle=5, logs=logs, kind="mongo")


def _busybox(ref: ImageRef, tag: str, size: int = 2_155_342) -> Image:
    # CMD ["sh"]: with no stdin (no `stdin: true`/`tty: true`) the shell reads EOF and exits 0 at once,
    # so a bare busybox pod goes Completed → CrashLoopBackOff under a Deployment.
    return _image(ref, size=size, start=0.0, shell="/bin/sh", binaries=_BUSYBOX | {"busybox"}, argv=["sh"],
                  behaviour="exit", memory=1 * _MIB // 2, kind="busybox")


def _distro(argv: list[str], size: int, binaries: Iterable[str], kind: str) -> Callable[[ImageRef, str], Image]:
    def build(ref: ImageRef, tag: str) -> Image:
        return _image(ref, size=size, start=0.0, shell="/bin/sh", binaries=binaries, argv=argv, behaviour="exit",
                      memory=1 * _MIB, kind=kind)
    return build


def _language(argv: list[str], full: int, slim: int, alpine: int, tools: set[str], kind: str
              ) -> Callable[[ImageRef, str], Image]:
    def build(ref: ImageRef, tag: str) -> Image:
        if "alpine" in tag:
            size, binaries = alpine, _BUSYBOX | tools
        elif "slim" in tag:
            size, binaries = slim, _COREUTILS | tools
        else:
            size, binaries = full, _BUILDPACK | tools
        # Interpreters started without a terminal read EOF on stdin and exit 0 (python3, node, bash).
        return _image(ref, size=size, start=0.0, shell="/bin/sh", binaries=binaries, argv=argv, behaviour="exit",
                      memory=8 * _MIB, kind=kind)
    return build


def _apache_php(ref: ImageRef, tag: str, kind: str = "php-apache", size: int = 190_000_000,
                extra: Iterable[str] = ()) -> Image:
    logs = ["AH00558: apache2: Could not reliably determine the server's fully qualified domain name, using "
            "{hostname}. Set the 'ServerName' directive globally to suppress this message",
            "AH00558: apache2: Could not reliably determine the server's fully qualified domain name, using "
            "{hostname}. Set the 'ServerName' directive globally to suppress this message",
            "[{apache}] [mpm_prefork:notice] [pid 1:tid 1] AH00163: Apache/2.4.62 (Debian) PHP/8.3.26 configured -- "
            "resuming normal operations",
            "[{apache}] [core:notice] [pid 1:tid 1] AH00094: Command line: 'apache2 -D FOREGROUND'"]
    return _image(ref, size=size, start=0.5, shell="/bin/sh",
                  binaries=_COREUTILS | {"curl", "php", "apache2", "apache2-foreground", "apachectl",
                                         "docker-php-ext-install"} | set(extra),
                  argv=["docker-php-entrypoint", "apache2-foreground"], entrypoint=("docker-php-entrypoint",),
                  behaviour="server", ports=[(80, "TCP")], memory=12 * _MIB, cpu_request=2.0, logs=logs, kind=kind)


def _php(ref: ImageRef, tag: str) -> Image:
    if "apache" in tag:
        return _apache_php(ref, tag)
    if "fpm" in tag:
        return _image(ref, size=180_000_000, start=0.2, shell="/bin/sh", binaries=_COREUTILS | {"php", "php-fpm"},
                      argv=["docker-php-entrypoint", "php-fpm"], entrypoint=("docker-php-entrypoint",),
                      behaviour="server", ports=[(9000, "TCP")], memory=10 * _MIB, kind="php-fpm",
                      logs=["[{go}] NOTICE: fpm is running, pid 1",
                            "[{go}] NOTICE: ready to handle connections"])
    # CMD ["php", "-a"]: the interactive shell sees EOF without a terminal and exits 0.
    return _image(ref, size=180_000_000 if "alpine" not in tag else 33_000_000, start=0.0, shell="/bin/sh",
                  binaries=(_BUSYBOX if "alpine" in tag else _COREUTILS) | {"php", "curl"},
                  argv=["docker-php-entrypoint", "php", "-a"], entrypoint=("docker-php-entrypoint",),
                  behaviour="exit", memory=8 * _MIB, kind="php-cli", logs=["Interactive shell", ""])


def _wordpress(ref: ImageRef, tag: str) -> Image:
    if "fpm" in tag:
        return _image(ref, size=240_000_000, start=0.5, shell="/bin/sh", binaries=_COREUTILS | {"php", "php-fpm"},
                      argv=["docker-entrypoint.sh", "php-fpm"], entrypoint=("docker-entrypoint.sh",),
                      behaviour="server", ports=[(9000, "TCP")], memory=20 * _MIB, kind="php-fpm")
    image = _apache_php(ref, tag, kind="wordpress", size=250_000_000)
    # The entrypoint copies WordPress into /var/www/html before Apache starts.
    logs = ("WordPress not found in /var/www/html - copying now...",
            "Complete! WordPress has been successfully copied to /var/www/html") + image.startup_logs
    return _replace(image, startup_logs=logs, default_argv=["docker-entrypoint.sh", "apache2-foreground"],
                    entrypoint=("docker-entrypoint.sh",), start_seconds=1.5, memory_bytes=30 * _MIB)


# radial/busyboxplus: ENV HOME /root, ENV ENV $HOME/.bashrc, and that .bashrc (radial/core-busyboxplus
# */bashrc) exports CLICOLOR, LS_COLORS and a coloured PS1: `[ root@curl:/ ]$ ` on the terminal.
_BUSYBOXPLUS_SHELL_ENV = (
    ("CLICOLOR", "1"),
    ("PS1", r"\[\033[40m\]\[\033[34m\][ \[\033[33m\]\u@\H:\[\033[32m\]\w\[\033[34m\] ]$\[\033[0m\] "),
    ("LS_COLORS", "di=34:ln=35:so=32:pi=33:ex=1;40:bd=34;40:cd=34;40:su=0;40:sg=0;40:tw=0;40:ow=0;40:"),
)


def _replace(image: Image, **changes: object) -> Image:
    return replace(image, **changes)  # type: ignore[arg-type]


def _agnhost(ref: ImageRef, tag: str) -> Image:
    # ENTRYPOINT ["/agnhost"], CMD ["pause"]; the base is Alpine with curl, bind-tools, netcat and iproute2.
    return _image(ref, size=51_100_000, start=0.05, shell="/bin/sh",
                  binaries=_BUSYBOX | {"agnhost", "bash", "curl", "dig", "nslookup", "nc", "ip", "iperf"},
                  argv=["/agnhost", "pause"], entrypoint=("/agnhost",), behaviour="server", memory=6 * _MIB,
                  cpu_request=0.1, kind="agnhost", version=tag, logs=["Paused"])


def _liveness(ref: ImageRef, tag: str) -> Image:
    # The old liveness tutorial image: FROM scratch with one Go server, run as args ["/server"].
    return _image(ref, size=2_430_000, start=0.05, shell=None, binaries={"server"}, argv=["/server"],
                  behaviour="server", ports=[(8080, "TCP")], memory=3 * _MIB, kind="liveness")


def _goproxy(ref: ImageRef, tag: str) -> Image:
    # FROM scratch; ENTRYPOINT ["/goproxy"]: an HTTP proxy listening on 8080, no shell.
    return _image(ref, size=2_580_000, start=0.05, shell=None, binaries={"goproxy"}, argv=["/goproxy"],
                  entrypoint=("/goproxy",), behaviour="server", ports=[(8080, "TCP")], memory=3 * _MIB,
                  kind="goproxy")


def _pause(ref: ImageRef, tag: str) -> Image:
    return _image(ref, size=320_368, start=0.0, shell=None, binaries={"pause"}, argv=["/pause"],
                  entrypoint=("/pause",), behaviour="server", memory=256 * 1024, kind="pause")


def _hpa_example(ref: ImageRef, tag: str) -> Image:
    # php:5-apache with an index.php that runs a million sqrt() and echoes "OK!". 25 ms of CPU per
    # request: one busybox `while sleep 0.01; do wget -q -O- http://php-apache; done` loop then asks
    # for ~600-700m, i.e. ~250-300% of the 200m request of one pod (capped at its 500m limit), and
    # the HPA settles at 6-7 replicas, as the walkthrough shows.
    image = _apache_php(ref, tag, kind="hpa-example", size=73_000_000)
    logs = tuple(line.replace("Apache/2.4.62 (Debian) PHP/8.3.26", "Apache/2.4.10 (Debian) PHP/5.6.14")
                 .replace("mpm_prefork:notice] [pid 1:tid 1]", "mpm_prefork:notice] [pid 1]")
                 .replace("[core:notice] [pid 1:tid 1]", "[core:notice] [pid 1]")
                 for line in image.startup_logs)
    return _replace(image, cpu_millis_per_request=25.0, startup_logs=logs, memory_bytes=10 * _MIB)


def _nginx_slim(ref: ImageRef, tag: str) -> Image:
    # The StatefulSet tutorial's web server: nginx 1.9-ish on a slim Debian, serving /usr/share/nginx/html;
    # it has curl (the tutorial's `kubectl exec -i -t "web-$i" -- curl http://localhost/`).
    return _image(ref, size=8_800_000 if _minor(tag) < (0, 20) else 26_000_000, start=0.1, shell="/bin/sh",
                  binaries=_COREUTILS | {"nginx", "curl"}, argv=["nginx", "-g", "daemon off;"], behaviour="server",
                  ports=[(80, "TCP")], memory=3 * _MIB, cpu_request=0.1, kind="nginx", version="1.11.13")


def _fluentd(ref: ImageRef, tag: str) -> Image:
    logs = ["{fluent} [info]: parsing config file is succeeded path=\"/etc/fluent/fluent.conf\"",
            "{fluent} [info]: using configuration file: <ROOT>",
            "{fluent} [info]: adding source type=\"tail\"",
            "{fluent} [info]: following tail of /var/log/containers/*.log",
            "{fluent} [warn]: Could not communicate to Elasticsearch, resetting connection and trying again. "
            "getaddrinfo: Name or service not known (SocketError)"]
    return _image(ref, size=120_000_000 if ref.registry != "quay.io" else 140_000_000, start=3.0, shell="/bin/sh",
                  binaries=_COREUTILS | {"ruby", "fluentd", "td-agent", "gem"},
                  argv=["/run.sh"] if ref.registry != "quay.io" else ["/entrypoint.sh"], behaviour="server",
                  memory=90 * _MIB, cpu_idle=10, logs=logs, kind="fluentd")


def _gb_frontend(ref: ImageRef, tag: str) -> Image:
    image = _apache_php(ref, tag, kind="gb-frontend", size=141_000_000)
    return _replace(image, cpu_millis_per_request=1.0, memory_bytes=15 * _MIB)


def _gb_redis_follower(ref: ImageRef, tag: str) -> Image:
    # redis-server --replicaof redis-leader 6379 (run.sh); it listens on 6379 like any redis.
    image = _redis(ref, "6.0.5")
    return _replace(image, default_argv=["/run.sh"], entrypoint=(), size_bytes=36_900_000,
                    pull_seconds=_pull_time(36_900_000), binaries=image.binaries | {"run.sh"},
                    startup_logs=image.startup_logs + ("1:S {redis} * Connecting to MASTER redis-leader:6379",
                                                       "1:S {redis} * MASTER <-> REPLICA sync started"))


def _hello_app(ref: ImageRef, tag: str) -> Image:
    # Alpine-based Go server on 8080 ("Hello, world!"); `kubectl exec … -- printenv` works (busybox).
    return _image(ref, size=10_100_000, start=0.05, shell="/bin/sh", binaries=_BUSYBOX | {"hello-app"},
                  argv=["/hello-app"], entrypoint=("/hello-app",), behaviour="server", ports=[(8080, "TCP")],
                  memory=3 * _MIB, cpu_request=0.1, logs=["{go} Server listening on port 8080"], kind="hello-app",
                  version=tag.split("-")[0])


_HELLO_WORLD = ("", "Hello from Docker!",
                "This message shows that your installation appears to be working correctly.", "",
                "To generate this message, Docker took the following steps:",
                " 1. The Docker client contacted the Docker daemon.",
                ' 2. The Docker daemon pulled the "hello-world" image from the Docker Hub.', "    (amd64)",
                " 3. The Docker daemon created a new container from that image which runs the",
                "    executable that produces the output you are currently reading.",
                " 4. The Docker daemon streamed that output to the Docker client, which sent it",
                "    to your terminal.", "",
                "To try something more ambitious, you can run an Ubuntu container with:",
                " $ docker run -it ubuntu bash", "",
                "Share images, automate workflows, and more with a free Docker ID:", " https://hub.docker.com/", "",
                "For more examples and ideas, visit:", " https://docs.docker.com/get-started/", "")


def _hello_world(ref: ImageRef, tag: str) -> Image:
    return _image(ref, size=3_300, start=0.0, shell=None, binaries={"hello"}, argv=["/hello"], behaviour="exit",
                  memory=64 * 1024, logs=_HELLO_WORLD, kind="hello-world")


def _curl(ref: ImageRef, tag: str) -> Image:
    # ENTRYPOINT ["/entrypoint.sh"] CMD ["curl"]: curl without a URL prints a hint and exits 2.
    return _image(ref, size=11_800_000, start=0.0, shell="/bin/sh", binaries=_BUSYBOX | {"curl"},
                  argv=["/entrypoint.sh", "curl"], entrypoint=("/entrypoint.sh",), behaviour="exit", exit_code=2,
                  memory=1 * _MIB, logs=["curl: try 'curl --help' or 'curl --manual' for more information"],
                  kind="curl")


def _netshoot(ref: ImageRef, tag: str) -> Image:
    return _image(ref, size=190_000_000, start=0.0, shell="/bin/sh",
                  binaries=_BUSYBOX | {"bash", "zsh", "curl", "dig", "nslookup", "host", "nc", "tcpdump", "iperf3",
                                       "ip", "ss", "nmap", "jq", "mtr", "httpie", "http", "grpcurl", "ethtool"},
                  argv=["zsh"], behaviour="exit", memory=2 * _MIB, kind="netshoot")


# --- images of the kubernetes.io tasks and tutorials (content/en/examples of kubernetes/website)


@lru_cache(maxsize=4)
def _pi_digits(significant: int) -> str:
    """pi to `significant` digits, rounded (Machin's formula in exact integers): what perl's
    `perl -Mbignum=bpi -wle 'print bpi(N)'` prints. Math::BigFloat rounds half to even; pi's digits
    are never a tie, so that is plain rounding of the next digit."""
    guard = 10
    scale = 10 ** (significant + guard)

    def atan_inv(x: int) -> int:
        total = term = scale // x
        x2, k, sign = x * x, 1, 1
        while term:
            term //= x2
            k += 2
            sign = -sign
            total += sign * (term // k)
        return total

    digits = str(16 * atan_inv(5) - 4 * atan_inv(239))  # "31415…", significant + guard + 1 digits
    kept = int(digits[:significant]) + (1 if digits[significant] >= "5" else 0)
    text = str(kept)
    return f"{text[0]}.{text[1:]}"


_PI_COMMAND = re.compile(r"^print\s+bpi\(\s*(\d+)\s*\);?$")
_PI_JOB_DIGITS = 2000  # the Job tutorial (controllers/job.yaml): print bpi(2000)


def program_logs(image: Image, args: list[str] | None) -> tuple[str, ...] | None:
    """What the image's own program prints for these arguments, when it depends on them (None: the
    image's usual startup lines). perl prints pi to as many digits as `bpi(N)` asks (the Job tutorial)."""
    if image.kind == "perl" and args:
        match = _PI_COMMAND.match(args[-1].strip())
        if match:
            return (_pi_digits(int(match.group(1))),)
    return None


def _perl_pi_args(args: list[str]) -> bool:
    """perl's arguments are the Job tutorial's: -Mbignum=bpi -wle 'print bpi(2000)' (flags in any grouping)."""
    flags = args[:-1]
    match = _PI_COMMAND.match(args[-1].strip()) if args else None
    if not match or not 1 <= int(match.group(1)) <= 20_000:
        return False
    joined = " ".join(flags)
    return "-Mbignum=bpi" in joined and any(f.startswith("-") and "e" in f.lstrip("-") and not f.startswith("-M")
                                            for f in flags)


def _perl(ref: ImageRef, tag: str) -> Image:
    # The official image (buildpack-deps base, ~330 MB; -slim ~30 MB). CMD ["perl5.x.y", "-de0"].
    # Its modelled program is the Job tutorial's pi computation, which Math::BigFloat takes a few
    # seconds for: one log line of 2001 characters, exit 0. Other perl scripts are not simulated.
    base = tag.split("-")[0]
    version = base if base.count(".") == 2 else "5.40.2"
    slim = "slim" in tag
    return _image(ref, size=30_600_000 if slim else 323_000_000, start=4.0, shell="/bin/sh",
                  binaries=(_COREUTILS if slim else _BUILDPACK) | {"perl", f"perl{version}", "cpanm"},
                  argv=[f"perl{version}", "-de0"], behaviour="exit", memory=40 * _MIB,
                  logs=[], kind="perl", version=version)


def _zookeeper(ref: ImageRef, tag: str) -> Image:
    # The ZooKeeper StatefulSet tutorial: Ubuntu + OpenJDK 8 + ZooKeeper 3.4.10 and the scripts
    # start-zookeeper (writes zoo.cfg and myid from the hostname, then execs zkServer.sh start-foreground)
    # and zookeeper-ready (`echo ruok | nc 127.0.0.1 2181` must answer imok).
    logs = ["#This file was autogenerated DO NOT EDIT",
            "clientPort=2181", "dataDir=/var/lib/zookeeper/data", "dataLogDir=/var/lib/zookeeper/data/log",
            "tickTime=2000", "initLimit=10", "syncLimit=5", "maxClientCnxns=60", "minSessionTimeout=4000",
            "maxSessionTimeout=40000", "autopurge.snapRetainCount=3", "autopurge.purgeInteval=12",
            "server.1={hostname}.zk-hs.default.svc.cluster.local:2888:3888",
            "Creating ZooKeeper log4j configuration",
            "ZooKeeper JMX enabled by default", "Using config: /usr/bin/../etc/zookeeper/zoo.cfg",
            "{go},000 [myid:1] - INFO  [main:QuorumPeerConfig@124] - Reading configuration from: "
            "/usr/bin/../etc/zookeeper/zoo.cfg",
            "{go},000 [myid:1] - INFO  [main:QuorumPeerMain@127] - Starting quorum peer",
            "{go},000 [myid:1] - INFO  [main:NIOServerCnxnFactory@89] - binding to port 0.0.0.0/0.0.0.0:2181"]
    return _image(ref, size=273_000_000, start=5.0, shell="/bin/sh",
                  binaries=_COREUTILS | _PROCPS | {"start-zookeeper", "zookeeper-ready", "zkServer.sh", "zkCli.sh",
                                                   "zkGenConfig.sh", "java", "nc", "netcat"},
                  argv=["start-zookeeper"], behaviour="server",
                  ports=[(2181, "TCP"), (2888, "TCP"), (3888, "TCP")], memory=200 * _MIB, cpu_idle=5, logs=logs,
                  kind="zookeeper", version="3.4.10")


def _cassandra(ref: ImageRef, tag: str) -> Image:
    # The Cassandra StatefulSet tutorial (gcr.io/google-samples/cassandra:v13, Cassandra 3.11): /run.sh
    # renders cassandra.yaml from the CASSANDRA_* variables and starts Cassandra in the foreground.
    logs = ["Starting Cassandra on {hostname}",
            "CASSANDRA_CONF_DIR /etc/cassandra",
            "CASSANDRA_CFG /etc/cassandra/cassandra.yaml",
            "CASSANDRA_AUTO_BOOTSTRAP true",
            "INFO  {go},000 StorageService.java:1439 - JOINING: Finish joining ring",
            "INFO  {go},000 Server.java:156 - Starting listening for CQL clients on /0.0.0.0:9042 (unencrypted)..."]
    return _image(ref, size=134_000_000, start=30.0, shell="/bin/sh",
                  binaries=_COREUTILS | _PROCPS | {"cassandra", "nodetool", "cqlsh", "run.sh", "ready-probe.sh",
                                                   "java"},
                  argv=["/run.sh"], behaviour="server",
                  ports=[(7000, "TCP"), (7001, "TCP"), (7199, "TCP"), (9042, "TCP")], memory=600 * _MIB,
                  cpu_idle=20, logs=logs, kind="cassandra", version="3.11.2")


def _dnsutils(ref: ImageRef, tag: str) -> Image:
    # DNS debugging images: Debian jessie with dnsutils (jessie-dnsutils), or Alpine with bind-tools
    # (the older gcr.io/kubernetes-e2e-test-images/dnsutils). No server: CMD is the base shell.
    alpine = ref.repository.endswith("/dnsutils")
    tools = {"nslookup", "dig", "host", "nc", "ping", "wget"} | ({"curl"} if not alpine else set())
    return _image(ref, size=4_600_000 if alpine else 73_000_000, start=0.0, shell="/bin/sh",
                  binaries=(_BUSYBOX if alpine else _COREUTILS | _PROCPS) | tools,
                  argv=["/bin/sh"] if alpine else ["bash"], behaviour="exit", memory=1 * _MIB, kind="dnsutils")


def _memcached(ref: ImageRef, tag: str) -> Image:
    # memcached logs nothing at start unless run with -v.
    alpine = "alpine" in tag
    return _image(ref, size=4_300_000 if alpine else 32_000_000, start=0.05, shell="/bin/sh",
                  binaries=(_BUSYBOX if alpine else _COREUTILS) | {"memcached", "docker-entrypoint.sh"},
                  argv=["docker-entrypoint.sh", "memcached"], entrypoint=("docker-entrypoint.sh",),
                  behaviour="server", ports=[(11211, "TCP")], memory=3 * _MIB, kind="memcached")


def _rabbitmq(ref: ImageRef, tag: str) -> Image:
    base = tag.split("-")[0]
    version = base if base.count(".") == 2 else "4.1.4"
    logs = ["{iso} [notice] <0.44.0> Application syslog exited with reason: stopped",
            "{iso} [notice] <0.248.0> Logging: switching to configured handler(s); following messages may not "
            "be visible in this log output",
            "",
            "  ##  ##      RabbitMQ " + version,
            "  ##  ##",
            "  ##########  Copyright (c) 2007-2025 Broadcom Inc and/or its subsidiaries",
            "  ######  ##",
            "  ##########  Licensed under the MPL 2.0. Website: https://rabbitmq.com",
            "",
            "{iso} [info] <0.599.0> Ready to start client connection listeners",
            "{iso} [info] <0.709.0> started TCP listener on [::]:5672",
            "{iso} [info] <0.9.0> Time to start RabbitMQ: 6041 ms"]
    ports = [(5672, "TCP"), (4369, "TCP"), (25672, "TCP")] + ([(15672, "TCP")] if "management" in tag else [])
    return _image(ref, size=110_000_000 if "alpine" not in tag else 62_000_000, start=6.0, shell="/bin/sh",
                  binaries=_COREUTILS | {"rabbitmq-server", "rabbitmqctl", "rabbitmq-diagnostics",
                                         "rabbitmq-plugins", "docker-entrypoint.sh", "erl"},
                  argv=["docker-entrypoint.sh", "rabbitmq-server"], entrypoint=("docker-entrypoint.sh",),
                  behaviour="server", ports=ports, memory=110 * _MIB, cpu_idle=10, logs=logs, kind="rabbitmq",
                  version=version)


def _bash(ref: ImageRef, tag: str) -> Image:
    # docker.io/library/bash: Alpine + bash; ENTRYPOINT ["docker-entrypoint.sh"] CMD ["bash"] (EOF: exit 0).
    return _image(ref, size=6_000_000, start=0.0, shell="/bin/sh", binaries=_BUSYBOX | {"bash"},
                  argv=["docker-entrypoint.sh", "bash"], entrypoint=("docker-entrypoint.sh",), behaviour="exit",
                  memory=1 * _MIB, kind="bash")


def _xtrabackup(ref: ImageRef, tag: str) -> Image:
    # The replicated MySQL tutorial's sidecar image: Debian with Percona XtraBackup 2.4 and ncat.
    return _image(ref, size=94_000_000, start=0.0, shell="/bin/sh",
                  binaries=_COREUTILS | {"xtrabackup", "xbstream", "innobackupex", "ncat", "mysql"},
                  argv=["bash"], behaviour="exit", memory=2 * _MIB, kind="xtrabackup")


def _go_daemon(binary: str, ports: Iterable[tuple[int, str]] = (), size: int = 20_000_000, kind: str = "daemon",
               logs: Iterable[str] = ()) -> Callable[[ImageRef, str], Image]:
    """A single Go program on a distroless/scratch base (cluster add-ons, control-plane helpers)."""
    def build(ref: ImageRef, tag: str) -> Image:
        return _image(ref, size=size, start=0.5, shell=None, binaries={binary.rsplit("/", 1)[-1]},
                      argv=[binary], entrypoint=(binary,), behaviour="server", ports=ports, memory=15 * _MIB,
                      cpu_idle=1, logs=logs, kind=kind, version=tag)
    return build


def _etcd(ref: ImageRef, tag: str) -> Image:
    # registry.k8s.io/etcd (the gRPC liveness probe example): no CMD of its own; a pod runs
    # /usr/local/bin/etcd, which serves the client API (gRPC and HTTP /health) on 2379.
    return _image(ref, size=57_000_000, start=0.5, shell="/bin/sh" if tag < "3.5.1" else None,
                  binaries={"etcd", "etcdctl", "etcdutl"}, argv=["/usr/local/bin/etcd"], behaviour="server",
                  ports=[(2379, "TCP"), (2380, "TCP")], memory=30 * _MIB, cpu_idle=10, kind="etcd",
                  version=tag.split("-")[0],
                  logs=['{{"level":"info","ts":"{iso}","caller":"etcdmain/etcd.go:73","msg":"Running: ",'
                        '"args":["/usr/local/bin/etcd"]}}',
                        '{{"level":"info","ts":"{iso}","caller":"embed/serve.go:98","msg":"ready to serve client '
                        'requests"}}'])


def _hello_go_gke(ref: ImageRef, tag: str) -> Image:
    # "Connect a Frontend to a Backend Using Services": a Go server on 80 answering {"message":"Hello"}.
    return _image(ref, size=3_700_000, start=0.05, shell=None, binaries={"hello"}, argv=["/hello"],
                  entrypoint=("/hello",), behaviour="server", ports=[(80, "TCP")], memory=3 * _MIB,
                  cpu_request=0.1, kind="hello-go", logs=["{go} Server listening on port 80"])


def _hello_frontend(ref: ImageRef, tag: str) -> Image:
    # The same tutorial's frontend: nginx 1.x proxying / to http://hello (the backend Service).
    image = _nginx(ref, "1.14.2")
    return _replace(image, kind="hello-frontend", binaries=image.binaries | {"/usr/sbin/nginx"})


def _node_hello(ref: ImageRef, tag: str) -> Image:
    # gcr.io/google-samples/node-hello:1.0 (security context task): node server.js on 8080.
    return _image(ref, size=251_000_000, start=0.3, shell="/bin/sh", binaries=_COREUTILS | _PROCPS | {"node", "npm"},
                  argv=["/bin/sh", "-c", "node server.js"], behaviour="server", ports=[(8080, "TCP")],
                  memory=20 * _MIB, cpu_request=0.3, kind="node-hello")


def _nginxhttps(ref: ImageRef, tag: str) -> Image:
    # bprashanth/nginxhttps:1.0 (Connecting Applications with Services): nginx on 80 and 443.
    image = _nginx(ref, "1.9.1")
    return _replace(image, ports=((80, "TCP"), (443, "TCP")), size_bytes=45_000_000,
                    pull_seconds=_pull_time(45_000_000))


def _polinux_stress(ref: ImageRef, tag: str) -> Image:
    # Memory tasks: stress with the task's args. What it uses follows them (program.py, shell/load.py):
    # `--vm 1 --vm-bytes 150M --vm-hang 1` holds 150 MiB plus stress's own ~5 MiB (162856960 bytes in the
    # task's `kubectl top`) and is OOM-killed under a limit below that (the task's 250M under 100Mi).
    return _image(ref, size=4_200_000, start=0.5, shell="/bin/sh", binaries=_BUSYBOX | {"stress"},
                  argv=["stress", "--vm", "1", "--vm-bytes", "150M", "--vm-hang", "1"], behaviour="server",
                  memory=162_856_960, cpu_idle=1, kind="stress",
                  logs=["stress: info: [1] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd"])


def _vish_stress(ref: ImageRef, tag: str) -> Image:
    # CPU task: ENTRYPOINT ["/stress", "-logtostderr"]; `-cpus 2` spins two threads (throttled to the limit),
    # `-mem-total 100Mi` allocates in -mem-alloc-size chunks -mem-alloc-sleep apart (program.py reads them).
    return _image(ref, size=1_100_000, start=0.1, shell=None, binaries={"stress"},
                  argv=["/stress", "-logtostderr"], entrypoint=("/stress", "-logtostderr"), behaviour="server",
                  memory=1 * _MIB, cpu_idle=0, kind="vish-stress")


def _http_echo(ref: ImageRef, tag: str) -> Image:
    # hashicorp/http-echo (seccomp tutorial): ENTRYPOINT ["/http-echo"], answers -text on :5678.
    return _image(ref, size=3_200_000, start=0.05, shell=None, binaries={"http-echo"}, argv=["/http-echo"],
                  entrypoint=("/http-echo",), behaviour="server", ports=[(5678, "TCP")], memory=3 * _MIB,
                  kind="http-echo", logs=["{go} [INFO] server is listening on :5678"])


def _socat(ref: ImageRef, tag: str) -> Image:
    # alpine/socat (the ambassador sidecar example): ENTRYPOINT ["socat"]; listens where its args say.
    return _image(ref, size=4_900_000, start=0.0, shell="/bin/sh", binaries=_BUSYBOX | {"socat"},
                  argv=["socat"], entrypoint=("socat",), behaviour="server", memory=1 * _MIB, kind="socat")


# ---------------------------------------------------------------------- the catalog

_Builder = Callable[[ImageRef, str], Image]


@dataclass(frozen=True)
class _Repo:
    tags: frozenset[str]
    build: _Builder


def _repo(tags: Iterable[str], build: _Builder) -> _Repo:
    return _Repo(tags=frozenset(tags), build=build)


_K8S = ("registry.k8s.io", "k8s.gcr.io")  # k8s.gcr.io redirects to registry.k8s.io; names are kept as written

CATALOG: dict[str, _Repo] = {
    "docker.io/library/nginx": _repo(_NGINX_TAGS, _nginx),
    "docker.io/library/httpd": _repo(_HTTPD_TAGS, _httpd),
    "docker.io/library/redis": _repo(_REDIS_TAGS, _redis),
    "docker.io/library/mysql": _repo(_MYSQL_TAGS, _mysql),
    "docker.io/library/postgres": _repo(_POSTGRES_TAGS, _postgres),
    "docker.io/library/mongo": _repo(_MONGO_TAGS, _mongo),
    "docker.io/library/busybox": _repo(_BUSYBOX_TAGS, _busybox),
    "docker.io/library/alpine": _repo(_ALPINE_TAGS, _distro(["/bin/sh"], 3_640_000, _BUSYBOX | {"apk"}, "alpine")),
    "docker.io/library/ubuntu": _repo(_UBUNTU_TAGS, _distro(["/bin/bash"], 29_700_000,
                                                            _COREUTILS | _PROCPS | {"apt", "apt-get"}, "ubuntu")),
    "docker.io/library/debian": _repo(_DEBIAN_TAGS, _distro(["bash"], 48_500_000, _COREUTILS | {"apt", "apt-get"},
                                                            "debian")),
    "docker.io/library/python": _repo(_PYTHON_TAGS, _language(["python3"], 392_000_000, 45_000_000, 17_900_000,
                                                              {"python", "python3", "pip", "pip3"}, "python")),
    "docker.io/library/node": _repo(_NODE_TAGS, _language(["docker-entrypoint.sh", "node"], 400_000_000, 78_000_000,
                                                          56_000_000, {"node", "npm", "npx", "yarn"}, "node")),
    "docker.io/library/golang": _repo(_GOLANG_TAGS, _language(["bash"], 292_000_000, 292_000_000, 76_000_000,
                                                              {"go", "gofmt", "bash"}, "golang")),
    "docker.io/library/wordpress": _repo(_WORDPRESS_TAGS, _wordpress),
    "docker.io/library/php": _repo(_PHP_TAGS, _php),
    "docker.io/library/hello-world": _repo({"latest", "linux"}, _hello_world),
    "docker.io/curlimages/curl": _repo(_CURL_TAGS, _curl),
    "docker.io/nicolaka/netshoot": _repo(_NETSHOOT_TAGS, _netshoot),
    # The guestbook: the docs' current images, the older gcr.io ones, and the Docker Hub copy people use.
    "us-docker.pkg.dev/google-samples/containers/gke/gb-frontend": _repo({"v5", "v6"}, _gb_frontend),
    "us-docker.pkg.dev/google-samples/containers/gke/gb-redis-follower": _repo({"v2"}, _gb_redis_follower),
    "gcr.io/google-samples/gb-frontend": _repo({"v3", "v4", "v5", "v6"}, _gb_frontend),
    "gcr.io/google-samples/gb-redis-follower": _repo({"v1", "v2"}, _gb_redis_follower),
    "gcr.io/google_samples/gb-redisslave": _repo({"v1", "v2", "v3"}, _gb_redis_follower),
    "gcr.io/google-samples/gb-redisslave": _repo({"v1", "v2", "v3"}, _gb_redis_follower),
    "docker.io/corelab/gb-frontend": _repo({"v4", "v5"}, _gb_frontend),
    "gcr.io/google-samples/hello-app": _repo({"1.0", "2.0"}, _hello_app),
    "us-docker.pkg.dev/google-samples/containers/gke/hello-app": _repo({"1.0", "2.0"}, _hello_app),
    "docker.io/library/perl": _repo(_PERL_TAGS, _perl),
    "docker.io/library/memcached": _repo(_MEMCACHED_TAGS, _memcached),
    "docker.io/library/rabbitmq": _repo(_RABBITMQ_TAGS, _rabbitmq),
    "docker.io/library/bash": _repo(_BASH_TAGS, _bash),
    "docker.io/library/fedora": _repo(_FEDORA_TAGS, _distro(["/bin/bash"], 63_000_000,
                                                            _COREUTILS | _PROCPS | {"dnf", "rpm", "curl"}, "fedora")),
    "gcr.io/google-samples/cassandra": _repo({"v11", "v12", "v13", "v14"}, _cassandra),
    "gcr.io/google-samples/xtrabackup": _repo({"1.0"}, _xtrabackup),
    "gcr.io/google-samples/hello-go-gke": _repo({"1.0"}, _hello_go_gke),
    "gcr.io/google-samples/hello-frontend": _repo({"1.0"}, _hello_frontend),
    "gcr.io/google-samples/node-hello": _repo({"1.0"}, _node_hello),
    "gcr.io/kubernetes-e2e-test-images/dnsutils": _repo({"1.1", "1.2", "1.3"}, _dnsutils),
    "docker.io/bprashanth/nginxhttps": _repo({"1.0"}, _nginxhttps),
    "docker.io/radial/busyboxplus": _repo({"curl", "git", "latest"}, lambda r, t: _replace(
        _busybox(r, t, 4_230_000), binaries=_BUSYBOX | {"busybox", "curl"} | ({"git"} if t == "git" else set()),
        shell_env=_BUSYBOXPLUS_SHELL_ENV)),
    "docker.io/polinux/stress": _repo({"latest", "1.0.4"}, _polinux_stress),
    "docker.io/vish/stress": _repo({"latest"}, _vish_stress),
    "docker.io/hashicorp/http-echo": _repo({"latest", "0.2.3", "1.0", "1.0.0"}, _http_echo),
    "docker.io/alpine/socat": _repo({"latest", "1.7.4.4", "1.8.0.0", "1.8.0.1", "1.8.0.3"}, _socat),
    "us.gcr.io/k8s-artifacts-prod/kas-network-proxy/proxy-agent": _repo(
        {f"v0.{m}.{p}" for m in (0, 1, 28, 29, 30, 31, 32, 33) for p in range(0, 45)},
        _go_daemon("/proxy-agent", [(8133, "TCP"), (8134, "TCP")], 13_000_000, "konnectivity")),
    "us.gcr.io/k8s-artifacts-prod/kas-network-proxy/proxy-server": _repo(
        {f"v0.{m}.{p}" for m in (0, 1, 28, 29, 30, 31, 32, 33) for p in range(0, 45)},
        _go_daemon("/proxy-server", [(8132, "TCP"), (8133, "TCP"), (8134, "TCP")], 14_000_000, "konnectivity")),
    "quay.io/fluentd_elasticsearch/fluentd": _repo({f"v2.{m}.{p}" for m in range(0, 10) for p in range(0, 3)}
                                                   | {f"v3.{m}.{p}" for m in range(0, 5) for p in range(0, 3)}
                                                   | {f"v4.{m}.{p}" for m in range(0, 8) for p in range(0, 3)}
                                                   | {"v5.0.0", "v5.0.1", "v5.0.2"}, _fluentd),
}
# gcr.io/google_containers (and its google-containers spelling) is the project behind k8s.gcr.io: the
# pre-2019 docs name it, and its images are still served.
_K8S_LEGACY = ("gcr.io/google_containers", "gcr.io/google-containers")
for _registry in _K8S + _K8S_LEGACY:
    CATALOG.update({
        f"{_registry}/kubernetes-zookeeper": _repo({"1.0-3.4.10"}, _zookeeper),
        f"{_registry}/etcd": _repo(_ETCD_TAGS, _etcd),
        f"{_registry}/fluentd-gcp": _repo({"1.20", "1.21", "1.25", "1.28", "1.30", "1.32", "1.34", "1.38", "2.0",
                                          "2.0.2", "2.0.9", "2.0.17", "3.1.0", "3.2.0"}, _fluentd),
        f"{_registry}/event-exporter": _repo({"v0.1.0", "v0.1.4", "v0.1.7", "v0.2.3", "v0.2.4", "v0.2.5", "v0.3.1"},
                                             _go_daemon("/event-exporter", (), 12_000_000, "event-exporter")),
        f"{_registry}/node-problem-detector": _repo({"v0.1", "v0.2", "v0.3.0", "v0.4.0", "v0.4.1", "v0.5.0",
                                                    "v0.6.0", "v0.7.0", "v0.8.0"},
                                                   _go_daemon("/node-problem-detector", [(20256, "TCP")],
                                                              22_000_000, "node-problem-detector")),
        f"{_registry}/cpa/cluster-proportional-autoscaler": _repo(
            {f"1.{m}.{p}" for m in (7, 8) for p in range(0, 10)}
            | {f"v1.{m}.{p}" for m in (8, 9, 10) for p in range(0, 5)},
            _go_daemon("/cluster-proportional-autoscaler", (), 16_000_000, "cpa")),
        f"{_registry}/cloud-controller-manager": _repo({f"v1.{m}.{p}" for m in range(8, 14) for p in range(0, 16)},
                                                       _go_daemon("/usr/local/bin/cloud-controller-manager",
                                                                  [(10258, "TCP")], 40_000_000, "ccm")),
        f"{_registry}/kas-network-proxy/proxy-server": _repo(
            {f"v0.{m}.{p}" for m in (0, 1, 28, 29, 30, 31, 32, 33) for p in range(0, 45)},
            _go_daemon("/proxy-server", [(8132, "TCP"), (8133, "TCP"), (8134, "TCP")], 14_000_000, "konnectivity")),
        f"{_registry}/kas-network-proxy/proxy-agent": _repo(
            {f"v0.{m}.{p}" for m in (0, 1, 28, 29, 30, 31, 32, 33) for p in range(0, 45)},
            _go_daemon("/proxy-agent", [(8133, "TCP"), (8134, "TCP")], 13_000_000, "konnectivity")),
        f"{_registry}/e2e-test-images/jessie-dnsutils": _repo(_JESSIE_DNSUTILS_TAGS, _dnsutils),
    })
    CATALOG.update({
        f"{_registry}/busybox": _repo({"latest", "1.24", "1.27", "1.27.2"}, lambda r, t: _busybox(r, t, 1_144_547)),
        f"{_registry}/hpa-example": _repo({"latest"}, _hpa_example),
        f"{_registry}/e2e-test-images/agnhost": _repo(_AGNHOST_TAGS, _agnhost),
        f"{_registry}/liveness": _repo({"latest", "0.1"}, _liveness),
        f"{_registry}/goproxy": _repo({"0.1"}, _goproxy),
        f"{_registry}/pause": _repo({"latest", "0.8.0", "1.0", "2.0", "3.0", "3.1", "3.2", "3.3", "3.4.1", "3.5", "3.6",
                                     "3.7", "3.8", "3.9", "3.10", "3.10.1"}, _pause),
        f"{_registry}/nginx-slim": _repo({f"0.{m}" for m in range(5, 28)}, _nginx_slim),
        f"{_registry}/fluentd-elasticsearch": _repo({f"1.{m}" for m in range(3, 23)} | {"v2.0.4"}, _fluentd),
        f"{_registry}/echoserver": _repo({"1.4", "1.10"}, lambda r, t: _replace(
            _hello_app(r, t), kind="echoserver", ports=((8080, "TCP"),), default_argv=["nginx", "-g", "daemon off;"],
            entrypoint=(), startup_logs=(), binaries=_COREUTILS | {"nginx"})),
    })


@lru_cache(maxsize=1024)
def lookup(image: str) -> Image | PullError:
    """The Image a pod's `image:` string pulls, or why the kubelet cannot pull it (kept per string: the
    catalog is fixed and both answers are frozen, and every pass looks every container's image up)."""
    try:
        ref = parse_image(image)
    except ValueError as err:
        return PullError(reason="InvalidImageName", message=str(err), error=str(err))
    repo = CATALOG.get(ref.name)
    if repo is None:
        return _pull_error(image, ref, known_repo=False)
    if ref.digest is not None:
        # Any well-formed digest of a known repository is taken to exist (we cannot know better);
        # the tag, if any, is ignored by containerd when a digest is given.
        return repo.build(ref, ref.tag if ref.tag in repo.tags else "latest" if "latest" in repo.tags
                          else sorted(repo.tags)[-1])
    if ref.tag not in repo.tags:
        return _pull_error(image, ref, known_repo=True)
    return repo.build(ref, ref.tag or DEFAULT_TAG)


# ====================================================================== the programs' network side

# basenames that are "the image's own program" (a pod that runs them keeps the image's behaviour)
_OWN_PROGRAMS: dict[str, tuple[str, ...]] = {
    "nginx": ("nginx", "nginx-debug", "docker-entrypoint.sh"),
    "httpd": ("httpd-foreground", "httpd"),
    "redis": ("redis-server", "docker-entrypoint.sh"),
    "mysql": ("mysqld", "docker-entrypoint.sh"),
    "postgres": ("postgres", "docker-entrypoint.sh"),
    "mongo": ("mongod", "docker-entrypoint.sh"),
    "agnhost": ("agnhost",),
    "liveness": ("server",),
    "goproxy": ("goproxy",),
    "pause": ("pause",),
    "hpa-example": ("apache2-foreground", "docker-php-entrypoint"),
    "php-apache": ("apache2-foreground", "docker-php-entrypoint"),
    "wordpress": ("apache2-foreground", "docker-entrypoint.sh"),
    "gb-frontend": ("apache2-foreground", "docker-php-entrypoint"),
    "hello-app": ("hello-app",),
    "fluentd": ("run.sh", "entrypoint.sh", "fluentd"),
    "perl": (),  # only the pi job is modelled: see program_args
    "zookeeper": ("start-zookeeper", "zkServer.sh"),
    "cassandra": ("run.sh", "cassandra"),
    "memcached": ("memcached", "docker-entrypoint.sh"),
    "rabbitmq": ("rabbitmq-server", "docker-entrypoint.sh"),
    "etcd": ("etcd",),
    "hello-go": ("hello",),
    "hello-frontend": ("nginx",),
    "node-hello": ("node",),
    "stress": ("stress",),
    "vish-stress": ("stress",),
    "http-echo": ("http-echo",),
    "socat": ("socat",),
    "event-exporter": ("event-exporter",),
    "node-problem-detector": ("node-problem-detector",),
    "cpa": ("cluster-proportional-autoscaler",),
    "ccm": ("cloud-controller-manager",),
    "konnectivity": ("proxy-server", "proxy-agent"),
}


def _flag(args: list[str], name: str, default: int) -> int:
    """Cobra-style --name=value or --name value."""
    for i, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            try:
                return int(arg.split("=", 1)[1])
            except ValueError:
                return default
        if arg == f"--{name}" and i + 1 < len(args):
            try:
                return int(args[i + 1])
            except ValueError:
                return default
    return default


def _agnhost_ports(args: list[str]) -> tuple[tuple[int, str], ...]:
    sub = args[0] if args else "pause"
    if sub == "liveness":
        return ((8080, "TCP"),)
    if sub == "netexec":
        ports = [(_flag(args, "http-port", 8080), "TCP")]
        udp = _flag(args, "udp-port", 8081)
        if udp != -1:
            ports.append((udp, "UDP"))
        sctp = _flag(args, "sctp-port", -1)
        if sctp != -1:
            ports.append((sctp, "SCTP"))
        return tuple(ports)
    if sub == "serve-hostname":
        return ((_flag(args, "port", 9376), "UDP" if "--udp" in args else "TCP"),)
    if sub == "test-webserver":
        return ((_flag(args, "port", 80), "TCP"),)
    if sub == "porter":
        return ()  # ports come from SERVE_PORT_* environment variables, which this model does not see
    return ()


def serving_ports(image: Image, args: list[str] | None = None) -> tuple[tuple[int, str], ...]:
    """Ports the image's program listens on, given the arguments it runs with (None: its default CMD)."""
    if image.kind == "agnhost":
        return _agnhost_ports(list(image.cmd if args is None else args))
    if image.kind == "socat" and args:
        # socat's first address: TCP-LISTEN:5432,fork (case-insensitive, TCP4-/TCP6-LISTEN alike)
        found = re.match(r"(?i)(tcp|udp)[46]?-listen:(\d+)", args[0])
        return ((int(found.group(2)), found.group(1).upper()),) if found else ()
    if image.kind == "http-echo" and args:
        for arg in args:
            if arg.startswith(("-listen=", "--listen=")):
                port = arg.split("=", 1)[1].rsplit(":", 1)[-1]
                return ((int(port), "TCP"),) if port.isdigit() else image.ports
        return image.ports
    if image.kind == "nginx" and args:
        return image.ports  # `nginx -g 'daemon off;'` variants still serve the default config
    return image.ports


def listens(image: Image, args: list[str] | None, port: int, protocol: str = "TCP",
            seconds_since_start: float | None = None) -> bool:
    """Whether a connection to port/protocol is accepted (a tcpSocket probe succeeds)."""
    if seconds_since_start is not None and seconds_since_start < image.start_seconds:
        return False
    return (port, protocol.upper()) in serving_ports(image, args)


_NGINX_WELCOME = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
{style}
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""
_NGINX_STYLE_NEW = """html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }"""
_NGINX_STYLE_OLD = """    body {
        width: 35em;
        margin: 0 auto;
        font-family: Tahoma, Verdana, Arial, sans-serif;
    }"""


_NGINX_50X = """<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
{style}
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the {error_log} for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
"""


def nginx_welcome(version: str) -> str:
    """/usr/share/nginx/html/index.html of nginx `version` (615 bytes since 1.21, 612 before)."""
    return _NGINX_WELCOME.replace("{style}", _NGINX_STYLE_NEW if _minor(version) >= (1, 21) else _NGINX_STYLE_OLD)


def nginx_50x(version: str) -> str:
    """/usr/share/nginx/html/50x.html of nginx `version` (497 bytes since 1.21, 537 before)."""
    if _minor(version) >= (1, 21):
        return _NGINX_50X.replace("{style}", _NGINX_STYLE_NEW).replace("{error_log}", "error log")
    return _NGINX_50X.replace("{style}", _NGINX_STYLE_OLD).replace(
        "{error_log}", '<a href="http://nginx.org/r/error_log">error log</a>')


HTTPD_INDEX = "<html><body><h1>It works!</h1></body></html>\n"
NGINX_ROOT = "/usr/share/nginx/html"
HTTPD_ROOT = "/usr/local/apache2/htdocs"


def _static_file(files, root: str, route: str, indexes: tuple[str, ...]) -> tuple[str, str | None]:
    """A web server's lookup of `route` under `root`: ("file", content), ("dir", None) for a directory
    without an index file, ("redirect", None) for a directory asked without its slash, ("missing", None)."""
    path = root.rstrip("/") + "/" + route.lstrip("/")
    if route.endswith("/"):
        for name in indexes:
            content = files.read(path + name)
            if content is not None:
                return "file", content
        return ("dir", None) if files.is_dir(path.rstrip("/") or "/") else ("missing", None)
    content = files.read(path)
    if content is not None:
        return "file", content
    return ("redirect", None) if files.is_dir(path) else ("missing", None)


def _httpd_listing(route: str, names: list[str]) -> str:
    """mod_autoindex's plain listing (the image's httpd.conf has `Options Indexes` and no FancyIndexing)."""
    title = route.rstrip("/") or "/"
    items = "".join(f'<li><a href="{n}"> {n}</a></li>\n' for n in names)
    parent = '<li><a href="/"> Parent Directory</a></li>\n' if title != "/" else ""
    return ('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html>\n <head>\n'
            f"  <title>Index of {title}</title>\n </head>\n <body>\n"
            f"<h1>Index of {title}</h1>\n<ul>{parent}{items}</ul>\n</body></html>\n")


def _nginx_error(code: int, text: str, version: str) -> str:
    return (f"<html>\r\n<head><title>{code} {text}</title></head>\r\n<body>\r\n"
            f"<center><h1>{code} {text}</h1></center>\r\n"
            f"<hr><center>nginx/{version}</center>\r\n</body>\r\n</html>\r\n")


_APACHE_404 = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>404 Not Found</title>
</head><body>
<h1>Not Found</h1>
<p>The requested URL was not found on this server.</p>
{footer}</body></html>
"""

_GUESTBOOK_HTML = """<html ng-app="redis">
  <head>
    <title>Guestbook</title>
    <link rel="stylesheet" href="//netdna.bootstrapcdn.com/bootstrap/3.1.1/css/bootstrap.min.css">
    <script src="https://ajax.googleapis.com/ajax/libs/angularjs/1.2.12/angular.min.js"></script>
    <script src="controllers.js"></script>
    <script src="https://cdnjs.cloudflare.com/ajax/libs/angular-ui-bootstrap/0.13.0/ui-bootstrap-tpls.js"></script>
  </head>
  <body ng-controller="RedisCtrl">
    <div style="width: 50%; margin-left: 20px">
      <h2>Guestbook</h2>
    <form>
    <fieldset>
    <input ng-model="msg" placeholder="Messages" class="form-control" type="text" name="input"><br>
    <button type="button" class="btn btn-primary" ng-click="controller.onRedis()">Submit</button>
    </fieldset>
    </form>
    <div>
      <div ng-repeat="msg in messages track by $index">
        {{msg}}
      </div>
    </div>
    </div>
  </body>
</html>
"""

_GO_404 = (404, "404 page not found\n")  # Go's http.NotFound, for every Go server here


def _go_float(value: float) -> str:
    """Go's %v for a float64 (shortest repr, exponent only for very large/small values)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _agnhost_http(args: list[str], path: str, query: dict[str, list[str]], elapsed: float,
                  hostname: str, now: float) -> tuple[int, str]:
    sub = args[0] if args else "pause"
    if sub == "liveness":
        # test/images/agnhost/liveness/server.go: healthy for 10 s, then 500 "error: <seconds>".
        if path == "/healthz":
            if elapsed > 10:
                return 500, f"error: {_go_float(elapsed)}"
            return 200, "ok"
        if path == "/started":
            return 200, f"{_go_float(elapsed)}s"
        return _GO_404
    if sub == "netexec":
        # test/images/agnhost/netexec/netexec.go; "/" is a catch-all in its mux.
        if path == "/hostname" or path == "/hostName":
            return 200, hostname
        if path == "/echo":
            msg = query.get("msg", [""])[0]
            code = query.get("code", [""])[0]
            if code:
                try:
                    return int(code), msg
                except ValueError:
                    return 200, f'argument \'code\' must be an integer or empty, got "{code}"\n'
            return 200, msg
        if path == "/healthz":
            return 200, ""
        if path == "/clientip":
            return 200, "10.244.0.1:54321"
        # Go's time.Now().String() (monotonic reading left out), at the simulated instant of the request.
        return 200, "NOW: " + datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S.%f000 +0000 UTC")
    if sub == "serve-hostname":
        return 200, hostname
    if sub == "test-webserver":
        return (200, "Hello World") if path == "/" else _GO_404
    return _GO_404


def http_response(image: Image, args: list[str] | None, port: int, path: str, seconds_since_start: float,
                  hostname: str = "", *, now: float = 0.0, files=None) -> tuple[int, str] | None:
    """What the program answers to `GET path` on port: (status, body), or None when nothing listens.

    args are the arguments the image's own program runs with (see program_args; None = its CMD).
    Status 0 means the connection is accepted but the program does not speak HTTP (redis, mysql,
    postgres, mongo close it or answer garbage): an httpGet probe or wget fails without a status.
    hostname is the pod's hostname, for the programs that print it; now is the simulated time of the
    request (seconds since the epoch), for the programs that print the time (agnhost netexec). files is
    the container's file system at that instant (shell.filesystem.ContainerFiles): nginx and httpd serve
    their document roots from it, so a page written with `kubectl exec` or into a volume is what they
    answer; without it they answer their images' own pages."""
    if not listens(image, args, port, "TCP", seconds_since_start):
        return None
    split = urlsplit(path if path.startswith("/") else "/" + path)
    route, query = split.path or "/", parse_qs(split.query, keep_blank_values=True)
    kind = image.kind
    if kind == "nginx":
        if files is not None:
            found, content = _static_file(files, NGINX_ROOT, route, ("index.html", "index.htm"))
            if found == "file":
                return 200, content or ""
            if found == "dir":
                return 403, _nginx_error(403, "Forbidden", image.version)
            if found == "redirect":
                return 301, _nginx_error(301, "Moved Permanently", image.version)
            return 404, _nginx_error(404, "Not Found", image.version)
        if route in ("/", "/index.html"):
            return 200, nginx_welcome(image.version)
        if route == "/50x.html":
            return 200, nginx_50x(image.version)
        return 404, _nginx_error(404, "Not Found", image.version)
    if kind == "httpd":
        if files is not None:
            found, content = _static_file(files, HTTPD_ROOT, route, ("index.html",))
            if found == "file":
                return 200, content or ""
            if found == "dir":
                return 200, _httpd_listing(route, files.listdir(HTTPD_ROOT.rstrip("/") + "/" + route.lstrip("/")))
            if found == "redirect":
                return 301, ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
                             "<title>301 Moved Permanently</title>\n</head><body>\n<h1>Moved Permanently</h1>\n"
                             f'<p>The document has moved <a href="{route}/">here</a>.</p>\n</body></html>\n')
            return 404, _APACHE_404.replace("{footer}", "")
        if route in ("/", "/index.html"):
            return 200, HTTPD_INDEX
        return 404, _APACHE_404.replace("{footer}", "")
    if kind in ("hpa-example", "php-apache", "wordpress", "gb-frontend"):
        footer = f"<hr>\n<address>Apache/2.4.62 (Debian) Server at {hostname or 'localhost'} Port {port}</address>\n"
        if kind == "hpa-example" and route in ("/", "/index.php"):
            return 200, "OK!"
        if kind == "gb-frontend":
            if route in ("/", "/index.html"):
                return 200, _GUESTBOOK_HTML
            if route == "/guestbook.php":
                # With no redis reachable from this model, the PHP client would error; answer the empty list.
                return 200, '{"data": ""}'
        if kind == "wordpress" and route in ("/", "/index.php"):
            # Without a database WordPress answers its own error page.
            return 500, ("<!DOCTYPE html>\n<html><head><title>Database Error</title></head><body>"
                         "<h1>Error establishing a database connection</h1></body></html>")
        if kind == "php-apache" and route == "/":
            return 403, ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n'
                         "<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n"
                         "<p>You don't have permission to access this resource.</p>\n"
                         f"{footer}</body></html>\n")
        return 404, _APACHE_404.replace("{footer}", footer)
    if kind == "agnhost":
        return _agnhost_http(list(image.cmd if args is None else args), route, query, seconds_since_start, hostname,
                             now)
    if kind == "liveness":
        if route == "/healthz":
            if seconds_since_start > 10:
                return 500, f"error: {_go_float(seconds_since_start)}"
            return 200, "ok"
        return _GO_404
    if kind == "goproxy":
        # goproxy's NonproxyHandler: a plain (non-proxy) request is an error.
        return 500, "This is a proxy server. Does not respond to non-proxy requests.\n"
    if kind == "hello-app":
        # main.go: mux.HandleFunc("/", hello), "register hello function to handle all requests": every path
        # answers (the Ingress tutorial's /v2 reaches web2 as /v2).
        version = "2.0.0" if image.version.startswith("2") else "1.0.0"
        return 200, f"Hello, world!\nVersion: {version}\nHostname: {hostname}\n"
    if kind == "hello-go":
        return (200, '{"message":"Hello"}') if route == "/" else _GO_404
    if kind == "hello-frontend":
        # nginx proxying to the `hello` Service; the tutorial's curl shows the backend's answer.
        return 200, '{"message":"Hello"}'
    if kind == "node-hello":
        return 200, "Hello Kubernetes!"
    if kind == "http-echo":
        text = next((a.split("=", 1)[1] for a in (args or []) if a.startswith(("-text=", "--text="))), "")
        if route == "/health":
            return 200, '{"status":"ok"}'
        return 200, text + "\n"
    if kind == "etcd":
        if route in ("/health", "/livez", "/readyz"):
            return 200, '{"health":"true","reason":""}' if route == "/health" else "ok"
        if route == "/version":
            return 200, f'{{"etcdserver":"{image.version}","etcdcluster":"{image.version.rsplit(".", 1)[0]}.0"}}'
        return 404, "404 page not found\n"
    if kind == "echoserver":
        return 200, (f"\n\nHostname: {hostname}\n\nRequest Information:\n\tmethod=GET\n\treal path={route}\n"
                     f"\tquery={split.query}\n\trequest_version=1.1\n")
    return 0, ""  # a non-HTTP server (redis, databases)


__all__ = [
    "CATALOG", "HTTPD_INDEX", "HTTPD_ROOT", "NGINX_ROOT", "Image", "ImageRef", "PullError", "effective_argv",
    "http_response", "listens", "lookup", "missing_env", "nginx_50x", "nginx_welcome", "parse_image",
    "program_args", "render_logs", "run_mode", "serving_ports",
]

# The cluster's own components (kube-system, local-path-storage, ingress-nginx) are modelled in
# system_images.py: importing it adds their repositories to CATALOG and their programs to _OWN_PROGRAMS,
# and lets them answer for themselves in http_response, program_logs and serving_ports.
from . import system_images  # noqa: E402,F401  (it builds on everything above)
