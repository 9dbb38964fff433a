# Univariate, unequal length, labels with a trailing blank line below.
@problemName UnequalToy
@timeStamps false
@missing false
@univariate true
@equalLength false
@classLabel true short long
@data
1.0,2.0,3.0:short
4.5,5.5,6.5,7.5,8.5:long
-1e-3,2E2:short

