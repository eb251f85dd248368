module kirim

go 1.26.0
