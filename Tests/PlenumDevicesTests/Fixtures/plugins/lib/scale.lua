return { apply = function(x) return x * 3 end }
