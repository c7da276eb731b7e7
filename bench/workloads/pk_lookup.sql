\set id random(1, 1000000)
SELECT v FROM bench_pk WHERE id = :id;
