# bash completion for superctl: verbs, options, and the names of the services the
# running superd has (`superctl --json status`); nothing when superd is unreachable.
# Installed as /usr/share/bash-completion/completions/superctl by the Debian package.

# The verbs, from superctl itself (its --help lists them), so they cannot drift.
_superctl_verbs() {
  "${1:-superctl}" --help 2>/dev/null | awk '
    tolower($0) ~ /^subcommands:/ { on = 1; next }
    on && /^[^ ]/   { on = 0 }
    on && NF        { print $1 }'
}

# The services of the running superd, and each instance (worker, worker@0, ...); quietly nothing when it does not
# answer within two seconds.
_superctl_services() {
  local superctl=$1; shift
  timeout 2 "$superctl" "$@" --json status 2>/dev/null |
    tr -d ' \n\t' | grep -o '"\(name\|service\)":"[^"]*"' | cut -d'"' -f4 | sort -u
}

_superctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local superctl=${COMP_WORDS[0]} verb="" i
  local -a global=(-s --socket --json --raw --help --version) sock=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -s | --socket) sock=(-s "${COMP_WORDS[i+1]}"); ((i++)) ;;
      -*) ;;
      *) verb=${COMP_WORDS[i]}; break ;;
    esac
  done
  case $prev in
    -s | --socket)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -n | --lines | --parallel | --since | --until)
      COMPREPLY=(); return ;;
  esac
  if [[ -z $verb ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "${global[*]}" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$(_superctl_verbs "$superctl")" -- "$cur"))
    fi
    return
  fi
  local options="--help" names=""
  case $verb in
    status | security) names=services ;;
    start | stop | reload) names=services+all ;;
    restart) options+=" --parallel"; names=services+all ;;
    enable | disable) options+=" --now"; names=services+all ;;
    signal)
      # The first argument is a signal, the rest services.
      local args=0
      for ((i = i + 1; i < COMP_CWORD; i++)); do [[ ${COMP_WORDS[i]} == -* ]] || ((args++)); done
      if ((args == 0)); then
        COMPREPLY=($(compgen -W "HUP INT QUIT KILL USR1 USR2 TERM CONT STOP" -- "$cur"))
        return
      fi
      names=services+all ;;
    log) options+=" -n --lines -f --follow --since --until"; names=services ;;
    scale) names=services ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options ${global[*]}" -- "$cur"))
  elif [[ -n $names ]]; then
    local words
    words=$(_superctl_services "$superctl" "${sock[@]}")
    [[ $names == services+all ]] && words+=" all"
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}

complete -F _superctl superctl
