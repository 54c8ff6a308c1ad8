module example.com/road

go 1.25

require github.com/jackc/pgx/v5 v5.0.0

replace github.com/jackc/pgx/v5 => ./pgx
