# bash completion for ctldb                                -*- shell-script -*-
# Install: copy to /etc/bash_completion.d/ctldb or source it from ~/.bashrc.

_ctldb() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    }

    local global_opts="--config --host --hostaddr --port --dbname --user --sslmode --sslrootcert
        --sslcert --sslkey --connect-timeout-ms --url --env --output -o --log-format --quiet -q
        --verbose -v --help -h --version"
    local commands="config local migrate seed backup restore gen-certs check-ssl indexes vacuum pool-stats doctor queries tables roles settings metrics version"

    case $prev in
        --sslmode) COMPREPLY=($(compgen -W "disable allow prefer require verify-ca verify-full" -- "$cur")); return ;;
        --output|-o) COMPREPLY=($(compgen -W "text json prometheus" -- "$cur")); return ;;
        --log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        --env) COMPREPLY=($(compgen -W "development test staging production" -- "$cur")); return ;;
        --config|--sslrootcert|--sslcert|--sslkey) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --key-type) COMPREPLY=($(compgen -W "ec rsa" -- "$cur")); return ;;
        --out|--ca-cert|--ca-key|--ca) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --table|--pods|--watch|--admin-reserve) return ;;
        --cn|--san|--ip|--days|--ca-days|--client|--k8s-secret|--namespace|--service|--warn-days|--critical-days) return ;;
        --format) COMPREPLY=($(compgen -W "plain custom" -- "$cur")); return ;;
        --compression) COMPREPLY=($(compgen -W "gzip zstd" -- "$cur")); return ;;
        --compress-level|--jobs|--keep-last|--keep-days|--target-db) return ;;
        --lock-timeout|--ddl-lock-timeout|--statement-timeout|--to|--steps|--users|--random-seed|--batch-users) return ;;
        --host|--hostaddr|--port|--dbname|--user|--connect-timeout-ms|--url) return ;;
        --layout) COMPREPLY=($(compgen -W "auto numbered golang-migrate flyway dbmate" -- "$cur")); return ;;
        --from) COMPREPLY=($(compgen -W "auto node golang-migrate dbmate flyway" -- "$cur")); return ;;
    esac

    local cmd="" sub="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;
        esac
    done

    local opts=""
    case $cmd in
        "") COMPREPLY=($(compgen -W "$commands $global_opts" -- "$cur")); return ;;
        config)
            [[ -z $sub ]] && opts="show check"
            [[ $sub == check ]] && opts="--offline"
            ;;
        migrate)
            local up="--dir --layout --to --dry-run --allow-out-of-order --lock-timeout --ddl-lock-timeout --statement-timeout"
            case $sub in
                "") opts="up status validate lint baseline create down $up" ;;
                up) opts=$up ;;
                status) opts="--dir --layout --check" ;;
                validate) opts="--dir --layout --no-schema-check" ;;
                lint) opts="--dir --layout" ;;
                baseline) opts="--dir --layout --from --lock-timeout --dry-run --force" ;;
                create) opts="--dir --layout --no-transaction" ;;
                down) opts="--dir --layout --to --steps --force --dry-run --yes -y --lock-timeout --ddl-lock-timeout --statement-timeout" ;;
            esac
            ;;
        seed)
            case $sub in
                "") opts="generate --dir --force" ;;
                generate) opts="--users --random-seed --batch-users --keep-indexes --lock-timeout --force" ;;
            esac
            ;;
        backup)
            case $sub in
                "") opts="list verify prune --dir --format --compression --compress-level --jobs --keep-last --keep-days --no-space-check" ;;
                list) opts="--dir" ;;
                verify)
                    if [[ $cur == -* ]]; then opts="--no-manifest"; else COMPREPLY=($(compgen -f -- "$cur")); return; fi ;;
                prune) opts="--dir --keep-last --keep-days --dry-run" ;;
            esac
            ;;
        restore)
            if [[ -z $sub && $cur != -* ]]; then
                COMPREPLY=($(compgen -W "latest" -- "$cur") $(compgen -f -- "$cur"))
                return
            fi
            opts="--dir --target-db --create --clean --jobs --yes -y --force --no-manifest --drop-previous"
            ;;
        gen-certs) opts="--out --cn --san --ip --days --ca-days --key-type --client --ca-cert --ca-key --k8s-secret --namespace --service --force" ;;
        check-ssl) opts="--warn-days --critical-days --ca --namespace --service" ;;
        indexes)
            case $sub in
                "") opts="check ensure" ;;
                ensure) opts="--dry-run --lock-timeout" ;;
            esac
            ;;
        vacuum)
            case $sub in
                "") opts="status autovacuum --table --analyze-only --full --yes -y --jobs --skip-locked" ;;
                autovacuum) opts="--apply" ;;
            esac
            ;;
        pool-stats) opts="--pods --watch --admin-reserve" ;;
        doctor)
            case $prev in
                --checks | --skip)
                    mapfile -t COMPREPLY < <(compgen -W "config tls connections sessions locks wraparound storage autovacuum indexes migrations backups security extensions" -- "$cur")
                    return
                    ;;
                --backup-dir | --migrations-dir)
                    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
                    return
                    ;;
                --ca)
                    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                    return
                    ;;
            esac
            opts="--checks --skip --pods --admin-reserve --long-query --idle-in-transaction --lock-wait --max-backup-age --backup-dir --migrations-dir --layout --warn-days --critical-days --ca --timeout --jobs"
            ;;
        queries)
            case $prev in
                --state) mapfile -t COMPREPLY < <(compgen -W "busy active idle-in-transaction idle all" -- "$cur"); return ;;
                --order) mapfile -t COMPREPLY < <(compgen -W "total mean calls" -- "$cur"); return ;;
                --min-duration | --older-than | --limit) return ;;
            esac
            case $sub in
                "") opts="top cancel terminate --min-duration --state --watch --all-databases" ;;
                top) opts="--limit --order" ;;
                cancel | terminate) opts="--older-than --state --yes -y --force --dry-run" ;;
            esac
            ;;
        tables)
            [[ $prev == --limit || $prev == --schema ]] && return
            opts="--limit --schema"
            ;;
        roles)
            case $prev in
                --password-file | --out-secret | --out-password-file) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
                --schema | --owner | --secret-name | --secret-key | --namespace | --length) return ;;
            esac
            case $sub in
                "") opts="check create-readonly rotate-password --all" ;;
                create-readonly) opts="--password-file --schema --owner --dry-run" ;;
                rotate-password) opts="--out-secret --out-password-file --secret-name --namespace --secret-key --length --yes -y --dry-run" ;;
            esac
            ;;
        settings)
            case $prev in
                --only)
                    mapfile -t COMPREPLY < <(compgen -W "ssl ssl_cert_file ssl_key_file ssl_min_protocol_version autovacuum autovacuum_naptime max_connections log_statement log_duration password_encryption" -- "$cur")
                    return
                    ;;
                --ssl-cert-file | --ssl-key-file) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
            esac
            case $sub in
                "") opts="check apply --only --pods --admin-reserve" ;;
                check) opts="--only --pods --admin-reserve" ;;
                apply) opts="--only --pods --admin-reserve --ssl-cert-file --ssl-key-file --dry-run --yes -y" ;;
            esac
            ;;
        metrics)
            case $prev in
                --backup-dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
                --listen | --timeout) return ;;
            esac
            opts="--pods --admin-reserve --backup-dir --timeout"
            if [[ -z $sub ]]; then opts="serve $opts"; elif [[ $sub == serve ]]; then opts+=" --listen"; fi
            ;;
        local)
            if [[ -z $sub ]]; then
                opts="start stop status env destroy"
            else
                opts="--dir"
                [[ $sub == start ]] && opts+=" --port"
                [[ $sub == destroy ]] && opts+=" --yes -y"
            fi
            ;;
    esac
    COMPREPLY=($(compgen -W "$opts $global_opts" -- "$cur"))
}
complete -F _ctldb ctldb
