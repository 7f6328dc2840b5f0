# tree.bash: file trees for the tests of di-merge, di-diff and flatten
# (`load lib/tree` after lib/testlib).
#
#   tree_list DIR            one line per path under DIR, sorted: type, mode,
#                            owner, link count, link target or content digest
#   tar_list TAR             member names of TAR, normalized, in order
#   apply_layer ROOT LAYER   extract LAYER over ROOT as a container runtime
#                            applies a layer: whiteouts and opaque markers
#                            delete from ROOT first, then entries replace
#   random_layer DIR SEED    a small random layer in DIR (created): files,
#                            directories, symlinks, hardlinks, whiteouts and
#                            opaque markers over a few reused names
#   random_tree DIR SEED     the same without whiteouts
#   refute CMD...            succeed when CMD fails (a bare `! CMD` never
#                            fails a bats test)

refute() {
	! "$@"
}

tree_list() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 -print0 | LC_ALL=C sort -z |
			while IFS= read -r -d '' p; do
				local s
				s=$(stat -c '%a %u:%g %h' "$p")
				if [ -L "$p" ]; then
					printf '%q l %s -> %s\n' "${p#./}" "${s% *}" "$(readlink "$p")"
				elif [ -d "$p" ]; then
					printf '%q d %s\n' "${p#./}" "${s% *}"
				elif [ -f "$p" ]; then
					printf '%q f %s %s\n' "${p#./}" "$s" "$(sha256sum <"$p" | cut -c1-16)"
				else
					printf '%q %s %s\n' "${p#./}" "$(stat -c '%F %t:%T' "$p" | tr ' ' _)" "$s"
				fi
			done
	)
}

tar_list() {
	tar -tf "$1" | sed -e 's,^\./,,' -e 's,/$,,' -e '/^\.\{0,1\}$/d'
}

apply_layer() {
	local root=$1 layer=$2 tmp p d b
	tmp=$(mktemp -d "$root.layer.XXXXXX")
	tar -C "$tmp" -xpf "$layer" || return 1
	while IFS= read -r -d '' p; do
		d=${p%/*} b=${p##*/}
		if [ "$b" = .wh..wh..opq ]; then
			if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then
				find "$root/$d" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
			fi
		else
			rm -rf "${root:?}/$d/${b#.wh.}"
		fi
		rm -f "$tmp/$p"
	done < <(cd "$tmp" && find . -name '.wh.*' -print0)
	# An entry replaces what is there, unless both are directories.
	while IFS= read -r -d '' p; do
		if [ -d "$tmp/$p" ] && [ ! -L "$tmp/$p" ] &&
			[ -d "$root/$p" ] && [ ! -L "$root/$p" ]; then
			continue
		fi
		rm -rf "${root:?}/$p"
	done < <(cd "$tmp" && find . -mindepth 1 -print0)
	cp -a "$tmp/." "$root/"
	rm -rf "$tmp"
}

# Names are few and short so that layers collide often.  The path is left
# in REPLY: a subshell would reseed RANDOM and lose the sequence.
_tree_pick_path() {
	local names=(a b c) n=$((1 + RANDOM % 3)) i
	REPLY=""
	for ((i = 0; i < n; i++)); do
		REPLY=${REPLY:+$REPLY/}${names[RANDOM % 3]}
	done
}

# Can PATH be created in DIR (every parent a directory or missing, the path
# itself absent)?
_tree_free() {
	local dir=$1 p=$2 q="" c parent
	parent=$(dirname "$p")
	if [ "$parent" != . ]; then
		for c in ${parent//\// }; do
			q=${q:+$q/}$c
			[ -e "$dir/$q" ] || [ -L "$dir/$q" ] || continue
			[ -d "$dir/$q" ] && [ ! -L "$dir/$q" ] || return 1
		done
	fi
	[ ! -e "$dir/$p" ] && [ ! -L "$dir/$p" ]
}

_tree_random() {
	local dir=$1 whiteouts=$2 k p files=()
	RANDOM=$3
	mkdir -p "$dir"
	for ((k = 0; k < 14; k++)); do
		_tree_pick_path
		p=$REPLY
		_tree_free "$dir" "$p" || continue
		mkdir -p "$dir/$(dirname "$p")"
		case $((RANDOM % (whiteouts ? 9 : 7))) in
		0 | 1) printf 'content %s %d\n' "$p" "$RANDOM" >"$dir/$p"
			chmod $((RANDOM % 2 ? 644 : 755)) "$dir/$p"
			files+=("$p") ;;
		2) mkdir "$dir/$p" ;;
		3) ln -s "target-$((RANDOM % 3))" "$dir/$p" ;;
		4) [ ${#files[@]} -gt 0 ] || continue
			local t=${files[RANDOM % ${#files[@]}]}
			[ -f "$dir/$t" ] && [ ! -L "$dir/$t" ] || continue
			ln "$dir/$t" "$dir/$p" ;;
		5) printf 'x%d' "$RANDOM" >"$dir/$p"; files+=("$p") ;;
		6) mkdir "$dir/$p"; printf 'in %s\n' "$p" >"$dir/$p/f" ;;
		7) touch "$dir/$(dirname "$p")/.wh.$(basename "$p")" ;;
		8) mkdir "$dir/$p"; touch "$dir/$p/.wh..wh..opq" ;;
		esac
	done
}

random_layer() {
	_tree_random "$1" 1 "$2"
}

random_tree() {
	_tree_random "$1" 0 "$2"
}
