module dukcapil.local/ferretdb-install

go 1.22

require github.com/FerretDB/FerretDB v1.24.2
