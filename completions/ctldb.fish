# fish completion for ctldb. Install: copy to ~/.config/fish/completions/.

set -l commands config local migrate seed version
complete -c ctldb -f
complete -c ctldb -n "not __fish_seen_subcommand_from $commands" -a config -d 'Show and check the configuration'
complete -c ctldb -n "not __fish_seen_subcommand_from $commands" -a local -d 'A local PostgreSQL sandbox'
complete -c ctldb -n "not __fish_seen_subcommand_from $commands" -a migrate -d 'Versioned schema migrations'
complete -c ctldb -n "not __fish_seen_subcommand_from $commands" -a seed -d 'Development and generated data'
complete -c ctldb -n "not __fish_seen_subcommand_from $commands" -a version -d 'Print the version'

complete -c ctldb -l config -r -F -d 'YAML config file (own format or ConfigMap)'
complete -c ctldb -l host -x -d 'Server host'
complete -c ctldb -l hostaddr -x -d 'Numeric server address'
complete -c ctldb -l port -x -d 'Server port'
complete -c ctldb -l dbname -x -d 'Database name'
complete -c ctldb -l user -x -d 'Database role'
complete -c ctldb -l sslmode -x -a 'disable allow prefer require verify-ca verify-full' -d 'libpq sslmode'
complete -c ctldb -l sslrootcert -r -F -d 'CA certificate'
complete -c ctldb -l sslcert -r -F -d 'Client certificate'
complete -c ctldb -l sslkey -r -F -d 'Client key'
complete -c ctldb -l connect-timeout-ms -x -d 'Connect timeout in ms'
complete -c ctldb -l env -x -a 'development test staging production' -d 'Deployment environment'
complete -c ctldb -s o -l output -x -a 'text json prometheus' -d 'Result format'
complete -c ctldb -l log-format -x -a 'text json' -d 'Log format'
complete -c ctldb -s q -l quiet -d 'Only errors on stderr'
complete -c ctldb -s v -l verbose -d 'More detail on stderr'
complete -c ctldb -l version -d 'Print the version'

complete -c ctldb -n "__fish_seen_subcommand_from config; and not __fish_seen_subcommand_from show check" -a 'show check'
complete -c ctldb -n "__fish_seen_subcommand_from check" -l offline -d 'Validate only; do not connect'
complete -c ctldb -n "__fish_seen_subcommand_from local; and not __fish_seen_subcommand_from start stop status env destroy" -a 'start stop status env destroy'
complete -c ctldb -n "__fish_seen_subcommand_from local" -l dir -r -a '(__fish_complete_directories)' -d 'Sandbox directory'
complete -c ctldb -n "__fish_seen_subcommand_from start" -l port -x -d 'Sandbox port (0: pick a free one)'
complete -c ctldb -n "__fish_seen_subcommand_from destroy" -s y -l yes -d 'Do not ask for confirmation'
complete -c ctldb -s h -l help -d 'Show help'

set -l migrate_subs up status validate lint baseline create down
complete -c ctldb -n "__fish_seen_subcommand_from migrate; and not __fish_seen_subcommand_from $migrate_subs" -a "$migrate_subs"
complete -c ctldb -n "__fish_seen_subcommand_from migrate seed" -l dir -r -a '(__fish_complete_directories)' -d 'Directory of .sql files'
complete -c ctldb -n "__fish_seen_subcommand_from migrate" -l to -x -d 'Target version'
complete -c ctldb -n "__fish_seen_subcommand_from migrate" -l dry-run -d 'Print the plan; change nothing'
complete -c ctldb -n "__fish_seen_subcommand_from migrate" -l allow-out-of-order -d 'Apply files older than applied ones'
complete -c ctldb -n "__fish_seen_subcommand_from migrate" -l lock-timeout -x -d 'Seconds to wait for the migration lock'
complete -c ctldb -n "__fish_seen_subcommand_from migrate" -l ddl-lock-timeout -x -d 'lock_timeout while migrating'
complete -c ctldb -n "__fish_seen_subcommand_from migrate" -l statement-timeout -x -d 'statement_timeout while migrating'
complete -c ctldb -n "__fish_seen_subcommand_from status" -l check -d 'Exit 1 when anything is pending'
complete -c ctldb -n "__fish_seen_subcommand_from create" -l no-transaction -d 'Start with the no-transaction marker'
complete -c ctldb -n "__fish_seen_subcommand_from down" -l steps -x -d 'How many to roll back'
complete -c ctldb -n "__fish_seen_subcommand_from down seed generate" -l force -d 'Allow in production'
complete -c ctldb -n "__fish_seen_subcommand_from seed; and not __fish_seen_subcommand_from generate" -a generate
complete -c ctldb -n "__fish_seen_subcommand_from generate" -l users -x -d 'Users to generate'
complete -c ctldb -n "__fish_seen_subcommand_from generate" -l random-seed -x -d 'Generator seed'
complete -c ctldb -n "__fish_seen_subcommand_from generate" -l batch-users -x -d 'Users per COPY batch'
complete -c ctldb -n "__fish_seen_subcommand_from generate" -l keep-indexes -d 'Load with indexes in place'
