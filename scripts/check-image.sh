#!/usr/bin/env bash
# Proves what can be proven about the Docker image without a Docker engine (none runs on the development machines):
#  1. The build stage builds: its commands run, with this machine's toolchain (it must be the version the build
#     image names), on a clean copy of exactly the files its COPY lines copy, .dockerignore applied. Its apt-get
#     packages must be installed here (missing ones are installed, as the stage would).
#  2. The build stage pins every package of the resolved graph, at the version the project's tests resolve.
#  3. The runtime stage has every shared library the binaries it copies need: ldd resolves each one here, dpkg -S
#     names the Debian package that ships it, and that package must be in the runtime image because
#       - the runtime stage's apt-get install names it, or it is a dependency of one of those (apt installs
#         Depends and Pre-Depends; the first of alternatives is counted, as apt picks it on a new image), or
#       - it is Essential in Debian, or a dependency of an Essential package: dpkg keeps those on every Debian
#         system, debian:bookworm-slim included.
#     Packages that bookworm-slim merely happens to carry (apt's own libraries, libstdc++6 among them) do not count:
#     an image must not depend on what its base image's tooling drags in, so the runtime stage names them.
#     A library outside any Debian package (the Swift toolchain's, say) fails the check: the image has no such file.
# What it cannot prove: that the swift:6.3-bookworm image builds exactly as this machine does, or that the
# containers start. Usage: scripts/check-image.sh [DOCKERFILE]. CHECK_IMAGE_WORK=DIR builds in DIR and keeps its
# .build between runs (faster when repeated); by default a new temporary directory is used and removed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

dockerfile=$(realpath "${1:-Dockerfile}")
context=$(dirname "$dockerfile")
started=$(date +%s)

fail() { echo "check-image: FAILED: $*" >&2; exit 1; }
note() { echo "check-image: $*"; }

# ---- parse: one instruction per line (continuations joined, comments dropped), grouped by stage ----
mapfile -t instructions < <(
  sed -e '/^[[:space:]]*#/d' "$dockerfile" |
    awk '{ line = $0; if (sub(/\\[[:space:]]*$/, "", line)) { joined = joined line " "; next } print joined line; joined = "" }
         END { if (joined != "") print joined }' |
    grep -v '^[[:space:]]*$'
)
stage_images=() stage_names=() keywords=() arguments=() stages=()
for instruction in "${instructions[@]}"; do
  keyword=${instruction%%[[:space:]]*}
  keyword=${keyword^^}
  argument=${instruction#*[[:space:]]}
  argument=$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$argument")
  if [[ "$keyword" == FROM ]]; then
    read -r image as name _ <<<"$argument"
    stage_images+=("$image")
    [[ "${as^^}" == AS ]] && stage_names+=("$name") || stage_names+=("")
  fi
  ((${#stage_images[@]} > 0)) || fail "$dockerfile: '$keyword' before the first FROM"
  stages+=($((${#stage_images[@]} - 1)))
  keywords+=("$keyword")
  arguments+=("$argument")
done
((${#stage_images[@]} >= 2)) || fail "$dockerfile: expected a build stage and a runtime stage"
runtime_stage=$((${#stage_images[@]} - 1))

# The runtime stage's COPY --from=STAGE lines name the build stage and what it hands over.
build_stage="" handed_over=()
for i in "${!keywords[@]}"; do
  ((stages[i] == runtime_stage)) && [[ "${keywords[i]}" == COPY ]] || continue
  [[ "${arguments[i]}" =~ --from=([^[:space:]]+)[[:space:]]+([^[:space:]]+)[[:space:]]+([^[:space:]]+)$ ]] ||
    fail "runtime stage: COPY ${arguments[i]}: only 'COPY --from=STAGE SOURCE DESTINATION' is supported here"
  for s in "${!stage_names[@]}"; do
    [[ "${stage_names[s]}" == "${BASH_REMATCH[1]}" || "$s" == "${BASH_REMATCH[1]}" ]] && build_stage=$s
  done
  [[ -n "$build_stage" ]] || fail "runtime stage copies from an unknown stage '${BASH_REMATCH[1]}'"
  handed_over+=("${BASH_REMATCH[2]}")
done
[[ -n "$build_stage" ]] || fail "the runtime stage copies nothing from a build stage"

# Package names an `apt-get install` in a RUN command installs.
apt_packages_of() {
  tr ';&|' '\n\n\n' <<<"$1" | grep -E '^[[:space:]]*apt-get([[:space:]]+-[^[:space:]]+)*[[:space:]]+install' |
    sed -E 's/.*[[:space:]]install([[:space:]]|$)//' | tr ' \t' '\n\n' | grep -v -e '^-' -e '^$' | sed 's/=.*//' || true
}

# ---- 1. the build stage, run for real ----
work=${CHECK_IMAGE_WORK:-}
if [[ -z "$work" ]]; then
  work=$(mktemp -d /tmp/check-image.XXXXXX)
  # SwiftPM also leaves lock files named after the scratch path in the temporary directory.
  trap 'rm -rf "$work" "${TMPDIR:-/tmp}/$(tr / _ <<<"$work/src/.build")"*.lock' EXIT
fi
mkdir -p "$work/src"
find "$work/src" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} +
rm -rf "$work/context"
mkdir -p "$work/context"
src=$work/src

image=${stage_images[build_stage]}
[[ "$image" =~ ^swift:([0-9]+\.[0-9]+(\.[0-9]+)?)- ]] || fail "build stage FROM $image: expected an official swift:VERSION-… image"
image_swift=${BASH_REMATCH[1]}
local_swift=$(swift --version 2>&1 | sed -nE 's/.*Swift version ([0-9.]+).*/\1/p' | head -n 1)
[[ "$local_swift" == "$image_swift" || "$local_swift" == "$image_swift".* ]] ||
  fail "the build stage uses Swift $image_swift (FROM $image) but this machine's toolchain is Swift ${local_swift:-unknown}; the check would prove nothing"
note "build stage FROM $image; this machine's toolchain is Swift $local_swift"

# The build context as Docker would send it: the copied paths, minus what .dockerignore excludes.
ignore_patterns=()
if [[ -f "$context/.dockerignore" ]]; then
  while IFS= read -r pattern; do
    pattern=$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$pattern")
    [[ -z "$pattern" || "$pattern" == \#* ]] && continue
    [[ "$pattern" == !* ]] && fail ".dockerignore exception '$pattern' is not supported by this check"
    ignore_patterns+=("${pattern#/}")
  done <"$context/.dockerignore"
fi

workdir="" build_env=() pins_text=""
run_count=0
for i in "${!keywords[@]}"; do
  ((stages[i] == build_stage)) || continue
  argument=${arguments[i]}
  case "${keywords[i]}" in
    FROM | LABEL) ;;
    WORKDIR)
      [[ "$argument" == /* ]] || fail "build stage: WORKDIR $argument: only absolute paths are supported here"
      [[ -z "$workdir" || "$workdir" == "$argument" ]] || fail "build stage: a second WORKDIR ($argument) is not supported here"
      workdir=${argument%/} ;;
    ENV)
      for assignment in $argument; do
        [[ "$assignment" == *=* ]] || fail "build stage: ENV $argument: only KEY=VALUE is supported here"
        build_env+=("$assignment")
      done ;;
    COPY)
      [[ -n "$workdir" ]] || fail "build stage: COPY before WORKDIR is not supported here"
      [[ "$argument" != \[* ]] || fail "build stage: COPY $argument: the JSON form is not supported here"
      read -ra words <<<"$argument"
      sources=() destination=${words[-1]}
      for word in "${words[@]:0:${#words[@]}-1}"; do
        [[ "$word" == --from=* ]] && fail "build stage: COPY $argument: copying from another stage is not supported here"
        [[ "$word" == --* ]] || sources+=("$word")
      done
      ((${#sources[@]} > 0)) || fail "build stage: COPY $argument copies nothing"
      case "$destination" in
        . | ./) target=$src ;;
        /*) [[ "$destination" == "$workdir" || "$destination" == "$workdir"/* ]] ||
              fail "build stage: COPY to $destination outside WORKDIR $workdir is not supported here"
            target=$src/${destination#"$workdir"} ;;
        *) target=$src/$destination ;;
      esac
      into_directory=false
      [[ "$destination" == */ || "$destination" == . || ${#sources[@]} -gt 1 || -d "$target" ]] && into_directory=true
      for source in "${sources[@]}"; do
        [[ "$source" != /* && "$source" != *..* ]] || fail "build stage: COPY $source: outside the build context"
        # Bring the source into the context copy, then drop what .dockerignore excludes, then copy as Docker does.
        (cd "$context" && shopt -s nullglob && matches=($source) && ((${#matches[@]} > 0)) &&
          cp -a --parents -- "${matches[@]}" "$work/context/") || fail "build stage: COPY $source: no such file in $context"
        (cd "$work/context" && shopt -s globstar dotglob nullglob && for pattern in "${ignore_patterns[@]}"; do
          # shellcheck disable=SC2086 # the pattern is a glob on purpose
          rm -rf -- $pattern
        done)
        (cd "$work/context" && shopt -s nullglob && matches=($source) && ((${#matches[@]} > 0))) ||
          fail "build stage: COPY $source: everything it names is excluded by .dockerignore"
        while IFS= read -r -d '' match; do
          if [[ -d "$match" ]]; then
            mkdir -p "$target" && cp -a "$match/." "$target/"
          elif $into_directory; then
            mkdir -p "$target" && cp -a "$match" "$target/"
          else
            mkdir -p "$(dirname "$target")" && cp -a "$match" "$target"
          fi
        done < <(cd "$work/context" && shopt -s nullglob && for m in $source; do printf '%s\0' "$work/context/$m"; done)
        note "COPY $source -> ${destination} ($(cd "$work/context" && shopt -s nullglob && find $source -type f | wc -l) files)"
      done ;;
    RUN)
      if [[ "$argument" == *apt-get* ]]; then
        # Package installs: each part must be apt-get or the lists' cleanup, so that nothing else is skipped.
        while IFS= read -r part; do
          part=$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$part")
          [[ -z "$part" || "$part" == apt-get* || "$part" == "rm -rf /var/lib/apt/lists/*" ]] ||
            fail "build stage: RUN $argument mixes apt-get with '$part'; keep other commands in a RUN of their own"
        done < <(tr ';&|' '\n\n\n' <<<"$argument")
        mapfile -t wanted < <(apt_packages_of "$argument")
        missing=()
        for package in "${wanted[@]}"; do
          dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
        done
        if ((${#missing[@]} > 0)); then
          note "RUN apt-get: installing ${missing[*]} here, as the build stage does"
          DEBIAN_FRONTEND=noninteractive apt-get update -qq
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        fi
        note "RUN apt-get: ${wanted[*]} installed here"
        continue
      fi
      [[ -n "$workdir" ]] || fail "build stage: RUN before WORKDIR is not supported here"
      if grep -qE '(^|[[:space:]"'\''=(])/[A-Za-z]' <<<"$argument"; then
        fail "build stage: RUN $argument uses an absolute path; keep build-stage paths relative to WORKDIR so this check can run them"
      fi
      pins_text+=$'\n'$argument
      run_count=$((run_count + 1))
      note "RUN #$run_count in $src: $argument"
      run_started=$(date +%s)
      # Docker runs `/bin/sh -c COMMAND`; here sh reads it from a file, so the long command is not in the process
      # list (where a `pkill -f 'swift build'` meant for another build on a shared machine once matched it).
      printf '%s\n' "$argument" >"$work/run-$run_count.sh"
      if ! (cd "$src" && env "${build_env[@]}" sh "$work/run-$run_count.sh") >"$work/run-$run_count.log" 2>&1; then
        tail -n 40 "$work/run-$run_count.log" >&2
        fail "build stage: RUN #$run_count failed (the end of its output is above)"
      fi
      note "RUN #$run_count took $(($(date +%s) - run_started))s" ;;
    *) fail "build stage: $keyword is not supported by this check" ;;
  esac
done

# ---- 2. the pins ----
resolved_versions() { awk -F'"' '/"identity"/ { id = $4 } /"version" : "/ { print id, $4 }' "$1"; }
declare -A pinned image_resolved tests_resolved
while read -r name version; do
  pinned[$name]=$version
done < <(grep -oE 'swift package resolve [A-Za-z0-9._-]+ --version [^[:space:]]+' <<<"$pins_text" | awk '{ print $4, $6 }')
[[ -f "$src/Package.resolved" ]] || fail "the build stage resolved no packages (no Package.resolved in $src)"
while read -r name version; do image_resolved[$name]=$version; done < <(resolved_versions "$src/Package.resolved")
# The tests build the project where it is, so its own Package.resolved (made now if need be) is what they run with.
[[ -f "$context/Package.resolved" ]] || (cd "$context" && swift package resolve >/dev/null) ||
  fail "swift package resolve failed in $context"
while read -r name version; do tests_resolved[$name]=$version; done < <(resolved_versions "$context/Package.resolved")
reference=$context/Package.resolved reference_name="the tests' resolution"
problems=()
for name in "${!image_resolved[@]}"; do
  [[ -n "${pinned[$name]:-}" ]] || problems+=("$name ${image_resolved[$name]} is in the graph but not pinned")
  [[ -z "${pinned[$name]:-}" || "${pinned[$name]}" == "${image_resolved[$name]}" ]] ||
    problems+=("$name is pinned at ${pinned[$name]} but resolved at ${image_resolved[$name]}")
  [[ -z "${tests_resolved[$name]:-}" || "${tests_resolved[$name]}" == "${image_resolved[$name]}" ]] ||
    problems+=("$name: the image builds ${image_resolved[$name]}, the tests resolve ${tests_resolved[$name]}")
done
for name in "${!pinned[@]}"; do
  [[ -n "${image_resolved[$name]:-}" ]] || problems+=("$name is pinned but no longer in the graph")
done
for name in "${!tests_resolved[@]}"; do
  [[ -n "${image_resolved[$name]:-}" ]] || problems+=("$name: the tests resolve it but the image's graph lacks it")
done
if ((${#problems[@]} > 0)); then
  printf 'check-image: pin: %s\n' "${problems[@]}" >&2
  echo "check-image: the pinning RUN, from $reference_name:" >&2
  echo "RUN swift package resolve \\" >&2
  resolved_versions "$reference" | sort | awk '{ printf "    && swift package resolve %s --version %s \\\n", $1, $2 }' | sed '$ s/ \\$//' >&2
  fail "the Dockerfile's pins and the resolved graph differ"
fi
note "pins: all ${#image_resolved[@]} packages of the graph are pinned, at the versions of ${reference_name}"

# ---- 3. the runtime stage's libraries ----
[[ "${stage_images[runtime_stage]}" =~ ^debian:(bookworm|12)([.-]|$) ]] ||
  fail "runtime stage FROM ${stage_images[runtime_stage]}: this check knows Debian 12 (bookworm) images only"
runtime_packages=()
for i in "${!keywords[@]}"; do
  ((stages[i] == runtime_stage)) && [[ "${keywords[i]}" == RUN ]] || continue
  mapfile -t -O "${#runtime_packages[@]}" runtime_packages < <(apt_packages_of "${arguments[i]}")
done
note "runtime stage FROM ${stage_images[runtime_stage]} installs: ${runtime_packages[*]:-nothing}"

declare -A present
# Adds a package and, through this machine's dpkg database, its Pre-Depends and Depends (first alternatives).
add_with_dependencies() {
  local package=$1 reason=$2 dependencies entry first
  [[ -z "${present[$package]:-}" ]] || return 0
  present[$package]=$reason
  dependencies=$(dpkg-query -W -f='${Pre-Depends}, ${Depends}' "$package" 2>/dev/null) || return 0
  IFS=',' read -ra entries <<<"$dependencies"
  for entry in "${entries[@]}"; do
    first=${entry%%|*}
    first=${first%%(*}
    first=${first//[[:space:]]/}
    first=${first%%:*}
    [[ -z "$first" ]] || add_with_dependencies "$first" "needed by $package"
  done
}
for package in "${runtime_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    fail "the runtime stage installs $package, which is not installed here, so its dependencies cannot be read; install it here (apt-get install $package)"
  present[$package]="installed by the runtime stage"
done
for package in "${runtime_packages[@]}"; do
  unset "present[$package]"
  add_with_dependencies "$package" "installed by the runtime stage"
done
while read -r package; do
  add_with_dependencies "$package" "Essential in Debian"
done < <(dpkg-query -W -f='${Package} ${Essential}\n' | awk '$2 == "yes" { print $1 }')

# Which package ships a file; usrmerge means ldd's /lib/... may be dpkg's /usr/lib/... or the other way round.
package_of() {
  local path candidates owner
  candidates=("$1" "$(realpath "$1")")
  for path in "${candidates[@]}"; do
    case "$path" in
      /usr/lib*) candidates+=("${path#/usr}") ;;
      /lib*) candidates+=("/usr$path") ;;
    esac
  done
  for path in "${candidates[@]}"; do
    owner=$(dpkg -S "$path" 2>/dev/null | grep -v '^diversion' | head -n 1 | sed -E 's/^([^:,]+)(:[a-z0-9]+)?[:,].*/\1/') || true
    [[ -n "$owner" ]] && { echo "$owner"; return 0; }
  done
  return 1
}

binaries=()
for source in "${handed_over[@]}"; do
  [[ "$source" == "$workdir" || "$source" == "$workdir"/* ]] || fail "runtime stage copies $source, outside the build stage's WORKDIR $workdir"
  path=$src/${source#"$workdir"}
  [[ -e "$path" ]] || fail "runtime stage copies $source, which the build stage did not produce"
  if [[ -d "$path" ]]; then
    mapfile -t -O "${#binaries[@]}" binaries < <(find "$path" -maxdepth 1 -type f | sort)
  else
    binaries+=("$path")
  fi
done
((${#binaries[@]} > 0)) || fail "the runtime stage gets no files from the build stage"

entrypoint=$(for i in "${!keywords[@]}"; do ((stages[i] == runtime_stage)) && [[ "${keywords[i]}" == ENTRYPOINT ]] && echo "${arguments[i]}"; done | tail -n 1)
entrypoint=$(sed -nE 's/^\[[[:space:]]*"([^"]+)".*/\1/p' <<<"$entrypoint")
if [[ -n "$entrypoint" ]]; then
  printf '%s\n' "${binaries[@]##*/}" | grep -qx "${entrypoint##*/}" || fail "ENTRYPOINT $entrypoint is not among the copied files (${binaries[*]##*/})"
fi

missing_libraries=()
printf '%-14s %-28s %-16s %s\n' binary library package "why it is in the image"
for binary in "${binaries[@]}"; do
  listing=$(ldd "$binary" 2>&1) || {
    grep -q 'not a dynamic executable' <<<"$listing" || fail "ldd $binary: $listing"
    note "${binary##*/}: not dynamically linked"
    continue
  }
  while read -r line; do
    [[ "$line" == linux-vdso* || -z "$line" ]] && continue # provided by the kernel
    if [[ "$line" == *"=> not found"* ]]; then
      missing_libraries+=("${binary##*/}: ${line%% *} is not found on this machine")
      continue
    fi
    if [[ "$line" == *" => "* ]]; then path=${line#* => }; else path=$line; fi
    path=${path%% (*}
    library=${path##*/}
    if ! package=$(package_of "$path"); then
      missing_libraries+=("${binary##*/}: $path belongs to no Debian package, so no apt-get install can provide it")
      continue
    fi
    if [[ -z "${present[$package]:-}" ]]; then
      missing_libraries+=("${binary##*/}: $library comes from $package, which the runtime stage does not install (add it to its apt-get install)")
      printf '%-14s %-28s %-16s %s\n' "${binary##*/}" "$library" "$package" "MISSING"
      continue
    fi
    printf '%-14s %-28s %-16s %s\n' "${binary##*/}" "$library" "$package" "${present[$package]}"
  done <<<"$listing"
done
if ((${#missing_libraries[@]} > 0)); then
  printf 'check-image: library: %s\n' "${missing_libraries[@]}" >&2
  fail "the runtime image would lack shared libraries the binaries need"
fi
note "passed: ${#binaries[@]} binaries build from the copied files and find every shared library in the runtime image ($(($(date +%s) - started))s)"
